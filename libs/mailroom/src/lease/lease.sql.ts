import { MESSAGE_CHANNEL } from '../database/channels';

/**
 * Returns a finished lease's messages to their queue ($1 lease id). $2 is 1 when the
 * lease expired (each message spends one attempt) and 0 when it was released gracefully
 * (nothing spent). Runs inside the lease actor's transition, after its row lock, so a
 * concurrent claim (which updates the lease row first) cannot add messages to it.
 */
export const RETURN_MESSAGES_SQL = `
WITH returned AS (
  UPDATE mailroom_message
     SET lease_id = NULL,
         attempts = attempts + $2,
         last_error = CASE WHEN $2 = 1 THEN 'lease expired' ELSE last_error END
   WHERE lease_id = $1
  RETURNING queue_id
)
SELECT pg_notify('${MESSAGE_CHANNEL}', queue_id::text) FROM (SELECT DISTINCT queue_id FROM returned) r`;

/** Reaper: active leases past their expiry, oldest first. */
export const EXPIRED_LEASES_SQL = `
SELECT id FROM mailroom_lease WHERE state = 'active' AND expires_at < now() ORDER BY expires_at LIMIT $1`;
