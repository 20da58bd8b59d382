import { MESSAGE_CHANNEL } from '../database/channels';

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
const HELD = `
WITH r AS (SELECT * FROM unnest($2::bigint[], $3::uuid[], $4::int[]) AS r(seq, id, delivery)),
held AS (
  SELECT m.seq, m.lease_id
    FROM mailroom_message m
    JOIN r ON m.seq = r.seq AND m.id = r.id AND m.delivery_count = r.delivery
    JOIN mailroom_lease l ON l.id = m.lease_id AND l.state = 'active' AND l.expires_at > now()
   WHERE m.queue_id = $1
     FOR UPDATE OF m
),
complete AS (SELECT count(*) = $5 AS ok FROM held)`;

export const ACK_SQL = `${HELD}
DELETE FROM mailroom_message m USING held, complete
 WHERE complete.ok AND m.seq = held.seq
RETURNING m.seq`;

/** Nack: the delivery failed; one attempt is spent and the message returns after $6 ms. */
export const NACK_SQL = `${HELD},
returned AS (
  UPDATE mailroom_message m
     SET lease_id = NULL, attempts = m.attempts + 1,
         visible_at = now() + $6 * interval '1 millisecond', last_error = $7
    FROM held, complete
   WHERE complete.ok AND m.seq = held.seq
  RETURNING m.seq
)
SELECT r.seq, pg_notify('${MESSAGE_CHANNEL}', $1::text) FROM returned r`;

/** Extend: push the lease(s) holding these deliveries to at least now + $6 ms. */
export const EXTEND_SQL = `${HELD}
UPDATE mailroom_lease l
   SET expires_at = greatest(l.expires_at, now() + $6 * interval '1 millisecond')
  FROM (SELECT DISTINCT lease_id FROM held) h, complete
 WHERE complete.ok AND l.id = h.lease_id AND l.state = 'active'
RETURNING l.expires_at`;

/** Failure path only: which of the receipts are still live, to name the stale ones. */
export const LIVE_RECEIPTS_SQL = `${HELD}
SELECT seq FROM held`;
