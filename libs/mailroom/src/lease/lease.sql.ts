import { MESSAGE_CHANNEL } from '../database/channels';
import { bury } from '../dead-letter/bury.sql';

/**
 * Returns a finished lease's messages to their queue ($1 lease id). $2 is 1 when the
 * lease expired (each message spends one attempt; one whose attempts reach
 * maxDeliveries is dead-lettered here, reason lease_expired: the poison message that
 * keeps crashing its consumer) and 0 when it was released gracefully (nothing spent).
 * $3 is the lease's consumer. Runs inside the lease actor's transition, after its row
 * lock, so a concurrent claim (which updates the lease row first) cannot add messages.
 */
export const RETURN_MESSAGES_SQL = `
WITH doomed AS (
  SELECT m.seq, 'lease_expired' AS reason, 'lease expired' AS error, NULL::text AS stack, $3::text AS consumer
    FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
   WHERE m.lease_id = $1 AND $2 = 1 AND m.attempts + 1 >= q.max_deliveries
),
${bury('doomed')},
returned AS (
  UPDATE mailroom_message m
     SET lease_id = NULL,
         attempts = m.attempts + $2,
         last_error = CASE WHEN $2 = 1 THEN 'lease expired' ELSE m.last_error END,
         last_consumer = CASE WHEN $2 = 1 THEN $3 ELSE m.last_consumer END,
         first_failed_at = CASE WHEN $2 = 1 THEN coalesce(m.first_failed_at, now()) ELSE m.first_failed_at END,
         last_failed_at = CASE WHEN $2 = 1 THEN now() ELSE m.last_failed_at END
   WHERE m.lease_id = $1 AND m.seq NOT IN (SELECT seq FROM dead)
  RETURNING m.queue_id
)
SELECT pg_notify('${MESSAGE_CHANNEL}', w.queue_id::text)
  FROM (SELECT queue_id FROM returned UNION SELECT queue_id FROM buried) w`;

/** Reaper: active leases past their expiry, oldest first. */
export const EXPIRED_LEASES_SQL = `
SELECT id FROM mailroom_lease WHERE state = 'active' AND expires_at < now() ORDER BY expires_at LIMIT $1`;
