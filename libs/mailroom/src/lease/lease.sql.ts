import { MESSAGE_CHANNEL } from '../database/channels';
import { statement } from '../database/sql-params';
import { bury, perQueue } from '../dead-letter/bury.sql';

/**
 * Returns the messages of the finished leases named by the CTE `leases` (id, consumer) to
 * their queue. `spend` is 1 when the leases expired (each message spends one attempt; one
 * whose attempts reach maxDeliveries is dead-lettered here, reason lease_expired: the
 * poison message that keeps crashing its consumer) and 0 when they were released
 * gracefully (nothing spent). Defines `woken`, which the caller must read.
 *
 * `doomed` (the messages that failed for good) locks its messages (FOR UPDATE re-checks lease_id on the newest row version),
 * so a message nacked or acked meanwhile is neither buried nor returned: `bury`'s DELETE
 * matches by sequence only. Callers hold the lease rows first and messages second, the
 * order every statement that touches both takes (claims lock the lease row before the
 * messages they put in it; extend locks only lease rows), so none can deadlock with them.
 */
const returnMessagesOf = (leases: string, spend: string) => `
doomed AS (
  SELECT m.seq, 'lease_expired' AS reason, 'lease expired' AS error, NULL::text AS stack, l.consumer, m.queue_id
    FROM mailroom_message m
    JOIN ${leases} l ON m.lease_id = l.id
    JOIN mailroom_queue q ON q.id = m.queue_id
   WHERE ${spend} = 1 AND m.attempts + 1 >= q.max_deliveries
     FOR UPDATE OF m
),
${bury('doomed')},
returned AS (
  UPDATE mailroom_message m
     SET lease_id = NULL,
         attempts = m.attempts + ${spend},
         last_error = CASE WHEN ${spend} = 1 THEN 'lease expired' ELSE m.last_error END,
         last_consumer = CASE WHEN ${spend} = 1 THEN l.consumer ELSE m.last_consumer END,
         first_failed_at = CASE WHEN ${spend} = 1 THEN coalesce(m.first_failed_at, now()) ELSE m.first_failed_at END,
         last_failed_at = CASE WHEN ${spend} = 1 THEN now() ELSE m.last_failed_at END
    FROM ${leases} l
   WHERE m.lease_id = l.id AND m.seq NOT IN (SELECT seq FROM dead)
  RETURNING m.queue_id, m.seq
),
woken AS (
  SELECT pg_notify('${MESSAGE_CHANNEL}', w.queue_id::text)
    FROM (SELECT queue_id FROM returned UNION SELECT queue_id FROM buried) w
)`;

/**
 * One lease's messages, as the lease actor's returnMessages effect: `spend` 1 expired, 0
 * released. Runs inside the actor's transition, after its row lock, so a concurrent
 * claim (which updates the lease row first) cannot add messages.
 */
export const RETURN_MESSAGES = statement(
  ['lease', 'spend', 'consumer'],
  (p) => `
WITH finished AS (SELECT ${p.lease}::uuid AS id, ${p.consumer}::text AS consumer),
${returnMessagesOf('finished', p.spend)}
SELECT count(*) FROM woken`,
);

/**
 * The reaper's pass, set-based: up to `batch` active leases past their deadline take the
 * lease machine's EXPIRE transition at once — its effects applied in bulk, as
 * lease.service.ts derives them from the machine: returnMessages with `spend`, then forget (the row is
 * deleted; a finished lease is not kept). One statement for thousands of leases, where one
 * actor transaction each took ~10 ms (3,000 expiring leases: 31 s to return the last).
 *
 * SKIP LOCKED: a lease whose row a claim or an extend holds right now is being renewed; it
 * is left for the next pass, and the DELETE re-checks state and deadline on the newest
 * version, so a lease renewed since the scan is left alone. Also returns, per queue, the
 * messages it dead-lettered (by reason) and those it returned to be delivered again.
 */
export const EXPIRE_LEASES = statement(
  ['batch', 'spend'],
  (p) => `
WITH expired AS (
  DELETE FROM mailroom_lease l
   WHERE l.id IN (SELECT id FROM mailroom_lease WHERE state = 'active' AND expires_at < now()
                   ORDER BY expires_at LIMIT ${p.batch} FOR UPDATE SKIP LOCKED)
     AND l.state = 'active' AND l.expires_at < now()
  RETURNING l.id, l.consumer
),
${returnMessagesOf('expired', p.spend)}
SELECT (SELECT count(*) FROM expired)::int AS expired, (SELECT count(*) FROM woken)::int AS woken,
       ${perQueue('doomed', 'reason')} AS dead_lettered,
       ${perQueue('returned WHERE seq NOT IN (SELECT seq FROM doomed)')} AS returned`,
);

/** The lease actor's forget effect: a finished lease's row goes ($1 lease id). */
export const FORGET_LEASE_SQL = `DELETE FROM mailroom_lease WHERE id = $1`;
