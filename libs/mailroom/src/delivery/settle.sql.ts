import { MESSAGE_CHANNEL } from '../database/channels';
import { statement, type Placeholders } from '../database/sql-params';
import { bury } from '../dead-letter/bury.sql';
import { extendLeases } from '../lease/renew.sql';
import { QUEUE_RETRY_POLICY, retryDelaySql, type RetryPolicyColumns } from '../queue/retry.policy.sql';

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
 * Parameters: the queue id, the receipts' sequences, ids and delivery numbers, and (for
 * `complete`) how many receipts there are (receipt.ts receiptParams).
 */
export const RECEIPTS = ['queue', 'seqs', 'ids', 'deliveries', 'count'] as const;
export type ReceiptParam = (typeof RECEIPTS)[number];
type ReceiptPlaceholders = Placeholders<ReceiptParam>;

export const held = (p: Omit<ReceiptPlaceholders, 'count'>, lock = 'FOR UPDATE OF m') => `
WITH r AS (SELECT * FROM unnest(${p.seqs}::bigint[], ${p.ids}::uuid[], ${p.deliveries}::int[]) AS r(seq, id, delivery)),
held AS (
  SELECT m.seq, m.delivery_count, m.lease_id, m.attempts, l.consumer
    FROM mailroom_message m
    JOIN r ON m.seq = r.seq AND m.id = r.id AND m.delivery_count = r.delivery
    JOIN mailroom_lease l ON l.id = m.lease_id AND l.state = 'active' AND l.expires_at > now()
   WHERE m.queue_id = ${p.queue}
   ${lock}
)`;

/**
 * Whether every receipt was found. A scalar subquery, so it is an InitPlan evaluated once;
 * as a joined CTE it was re-counted for every row (100 × 100 tuples for a batch of 100).
 */
export const complete = (p: Pick<ReceiptPlaceholders, 'count'>) => `(SELECT count(*) FROM held) = ${p.count}`;

export const ACK = statement(
  RECEIPTS,
  (p) => `${held(p)}
DELETE FROM mailroom_message m USING held
 WHERE ${complete(p)} AND m.seq = held.seq
RETURNING m.seq`,
);

/**
 * Nack: the delivery failed and spends one attempt. `delay` in ms (null: the retry policy
 * decides), `error` the error message, `reject` (NonRetryableError: dead-letter now),
 * `stack` the error stack, `reason` the reason a rejected one is buried with, and the
 * retry policy given with the nack (`retry*`, a handler's; null: the queue's). A message
 * whose attempts reach maxDeliveries, or a rejected one, moves to the DLQ in this
 * statement (reason max_deliveries / rejected); without a DLQ it stays here, exhausted.
 * The rest become deliverable again after the delay. Each nacked message comes back with
 * its dead-letter reason, or NULL when it will be retried (for the metrics).
 */
export const NACK = statement(
  [
    ...RECEIPTS,
    'delay',
    'error',
    'reject',
    'stack',
    'reason',
    'retryStrategy',
    'retryDelayMs',
    'retryMaxDelayMs',
    'retryJitter',
  ],
  (p) => `${held(p)},
doomed AS (
  SELECT h.seq, CASE WHEN ${p.reject} THEN ${p.reason}::text ELSE 'max_deliveries' END AS reason,
         ${p.error}::text AS error, ${p.stack}::text AS stack, h.consumer
    FROM held h, mailroom_queue q
   WHERE ${complete(p)} AND q.id = ${p.queue} AND (${p.reject} OR h.attempts + 1 >= q.max_deliveries)
),
${bury('doomed')},
returned AS (
  UPDATE mailroom_message m
     SET lease_id = NULL,
         attempts = CASE WHEN ${p.reject} THEN greatest(m.attempts + 1, q.max_deliveries) ELSE m.attempts + 1 END,
         visible_at = now() + coalesce(${p.delay}::float8, ${retryDelaySql(givenOrQueuePolicy(p), 'm.attempts')}) * interval '1 millisecond',
         last_error = ${p.error}, last_error_stack = ${p.stack}, last_consumer = h.consumer,
         first_failed_at = coalesce(m.first_failed_at, now()), last_failed_at = now()
    FROM held h, mailroom_queue q
   WHERE ${complete(p)} AND m.seq = h.seq AND q.id = m.queue_id AND m.seq NOT IN (SELECT seq FROM dead)
  RETURNING m.seq, m.queue_id
),
woken AS (
  SELECT pg_notify('${MESSAGE_CHANNEL}', w.queue_id::text)
    FROM (SELECT queue_id FROM returned UNION SELECT queue_id FROM buried) w
)
SELECT s.seq, d.reason FROM (SELECT seq FROM returned UNION ALL SELECT seq FROM dead) s
  LEFT JOIN doomed d ON d.seq = s.seq
 CROSS JOIN (SELECT count(*) FROM woken) n`,
);

/** The policy given with the nack (all four fields, or none), else the queue's. */
function givenOrQueuePolicy(
  p: Placeholders<'retryStrategy' | 'retryDelayMs' | 'retryMaxDelayMs' | 'retryJitter'>,
): RetryPolicyColumns {
  const q = QUEUE_RETRY_POLICY;
  return {
    strategy: `coalesce(${p.retryStrategy}::text, ${q.strategy})`,
    delayMs: `coalesce(${p.retryDelayMs}::int, ${q.delayMs})`,
    maxDelayMs: `coalesce(${p.retryMaxDelayMs}::int, ${q.maxDelayMs})`,
    jitter: `coalesce(${p.retryJitter}::float8, ${q.jitter})`,
  };
}

/**
 * Extend: push the lease(s) holding these deliveries to at least now + `ms`; only the
 * receipts' holder can, so nobody else keeps a lease alive. `held` does not lock the
 * messages (see extendLeases for why); a lease the reaper took meanwhile is gone when the
 * UPDATE gets its row, and that receipt's extend fails (409).
 */
export const EXTEND = statement(
  [...RECEIPTS, 'ms'],
  (p) => `${held(p, '')}
${extendLeases({ ids: 'SELECT DISTINCT lease_id FROM held', ms: p.ms, when: complete(p) })}`,
);

/** Failure path only: which of the receipts are still live, to name the stale ones. */
export const LIVE_RECEIPTS = statement(
  ['queue', 'seqs', 'ids', 'deliveries'],
  (p) => `${held(p)}
SELECT seq, delivery_count FROM held`,
);
