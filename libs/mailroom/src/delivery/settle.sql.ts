import { MESSAGE_CHANNEL } from '../database/channels';
import { bury, POLICY_DELAY_SQL } from '../dead-letter/bury.sql';

/**
 * Settling a batch of receipts: ack, nack, extend. Each is one statement and all or
 * nothing: `held` finds the receipts that still name a live delivery (same sequence, id
 * and delivery number, in an active unexpired lease, on this queue) and locks those
 * messages; the write happens only if every receipt was found.
 *
 * Why this is safe against the reaper and redelivery: a redelivery bumps
 * delivery_count, so an old receipt never matches again. If the reaper returns a
 * message first, our FOR UPDATE waits and then re-checks the row: lease_id is NULL,
 * the receipt no longer matches, nothing is written (409). If we lock first, the
 * reaper's UPDATE waits and finds the message already settled.
 * $1 queue id, $2 seqs, $3 ids, $4 delivery numbers, $5 how many receipts.
 */
const held = (lock: string) => `
WITH r AS (SELECT * FROM unnest($2::bigint[], $3::uuid[], $4::int[]) AS r(seq, id, delivery)),
held AS (
  SELECT m.seq, m.delivery_count, m.lease_id, m.attempts, l.consumer
    FROM mailroom_message m
    JOIN r ON m.seq = r.seq AND m.id = r.id AND m.delivery_count = r.delivery
    JOIN mailroom_lease l ON l.id = m.lease_id AND l.state = 'active' AND l.expires_at > now()
   WHERE m.queue_id = $1
   ${lock}
)`;

export const HELD = held('FOR UPDATE OF m');

/**
 * Whether every receipt was found. A scalar subquery, so it is an InitPlan evaluated once;
 * as a joined CTE it was re-counted for every row (100 × 100 tuples for a batch of 100).
 */
export const COMPLETE = `(SELECT count(*) FROM held) = $5`;

export const ACK_SQL = `${HELD}
DELETE FROM mailroom_message m USING held
 WHERE ${COMPLETE} AND m.seq = held.seq
RETURNING m.seq`;

/**
 * Nack: the delivery failed and spends one attempt. $6 delay in ms (null: the queue's
 * retry policy), $7 error message, $8 reject (NonRetryableError: dead-letter now),
 * $9 error stack, $10 the reason a rejected one is buried with. A message whose attempts reach maxDeliveries, or a rejected one, moves
 * to the DLQ in this statement (reason max_deliveries / rejected); without a DLQ it stays
 * here, exhausted. The rest become deliverable again after the delay. Each nacked message
 * comes back with its dead-letter reason, or NULL when it will be retried (for the metrics).
 */
export const NACK_SQL = `${HELD},
doomed AS (
  SELECT h.seq, CASE WHEN $8 THEN $10::text ELSE 'max_deliveries' END AS reason,
         $7::text AS error, $9::text AS stack, h.consumer
    FROM held h, mailroom_queue q
   WHERE ${COMPLETE} AND q.id = $1 AND ($8 OR h.attempts + 1 >= q.max_deliveries)
),
${bury('doomed')},
returned AS (
  UPDATE mailroom_message m
     SET lease_id = NULL,
         attempts = CASE WHEN $8 THEN greatest(m.attempts + 1, q.max_deliveries) ELSE m.attempts + 1 END,
         visible_at = now() + coalesce($6::float8, ${POLICY_DELAY_SQL('m.attempts')}) * interval '1 millisecond',
         last_error = $7, last_error_stack = $9, last_consumer = h.consumer,
         first_failed_at = coalesce(m.first_failed_at, now()), last_failed_at = now()
    FROM held h, mailroom_queue q
   WHERE ${COMPLETE} AND m.seq = h.seq AND q.id = m.queue_id AND m.seq NOT IN (SELECT seq FROM dead)
  RETURNING m.seq, m.queue_id
),
woken AS (
  SELECT pg_notify('${MESSAGE_CHANNEL}', w.queue_id::text)
    FROM (SELECT queue_id FROM returned UNION SELECT queue_id FROM buried) w
)
SELECT s.seq, d.reason FROM (SELECT seq FROM returned UNION ALL SELECT seq FROM dead) s
  LEFT JOIN doomed d ON d.seq = s.seq
 CROSS JOIN (SELECT count(*) FROM woken) n`;

/**
 * Extend: push the lease(s) holding these deliveries to at least now + $6 ms; only the
 * receipts' holder can, so nobody else keeps a lease alive. It locks the lease rows only,
 * not the messages: messages then leases would be the reverse of the reaper's order (lease
 * rows, then their messages) and could deadlock with it. A lease the reaper took meanwhile
 * is gone when the UPDATE gets its row, and that receipt's extend fails (409).
 */
export const EXTEND_SQL = `${held('')}
UPDATE mailroom_lease l
   SET expires_at = greatest(l.expires_at, now() + $6 * interval '1 millisecond')
  FROM (SELECT DISTINCT lease_id FROM held) h
 WHERE ${COMPLETE} AND l.id = h.lease_id AND l.state = 'active' AND l.expires_at > now()
RETURNING l.expires_at`;

/** Failure path only: which of the receipts are still live, to name the stale ones. */
export const LIVE_RECEIPTS_SQL = `${HELD}
SELECT seq, delivery_count FROM held`;
