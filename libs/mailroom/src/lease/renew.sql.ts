/**
 * Where lease deadlines move: the pieces of the claim and extend statements (delivery/)
 * that open a lease or renew one. The database clock decides every deadline, never a node's.
 * Each renewal takes the lease row's lock, which the reaper's DELETE ... FOR UPDATE SKIP
 * LOCKED respects: a lease being renewed is never expired under its renewal, and one the
 * reaper took first is gone when the renewal gets its row (the renewal matches nothing).
 * `ms` is the parameter holding the lease duration in milliseconds.
 */

/** The lease `id` if it is live, as the statement's snapshot saw it (CTE `lease`: id, queue_id, expires_at). */
export const liveLease = (id: string) => `
lease AS (
  SELECT id, queue_id, expires_at FROM mailroom_lease WHERE id = ${id} AND state = 'active' AND expires_at > now()
)`;

/**
 * A session lease's renewal by its own claim (CTE `l`: the new expires_at; empty when the
 * lease expired or was released, or was left alone). It renews to at least now + `ms`
 * when `taking` (the claim takes messages), else only once the lease is past half its
 * time: an idle consumer's polls and wake-ups (ten pull loops woken by one message, say)
 * are then read-only, with no WAL and no commit flush, instead of one renewal each, and a
 * live lease is still renewed by any receive in its second half.
 */
export const renewSessionLease = (p: { id: string; ms: string; taking: string }) => `
l AS (
  UPDATE mailroom_lease
     SET expires_at = greatest(expires_at, now() + ${p.ms} * interval '1 millisecond')
   WHERE id = ${p.id} AND state = 'active' AND expires_at > now()
     AND (${p.taking} OR expires_at < now() + ${p.ms} / 2 * interval '1 millisecond')
  RETURNING expires_at
)`;

/**
 * A lease of a claim's own, opened inside the claim (CTE `l`: id, expires_at), leased
 * until now + `ms`, when `when` holds. It writes the lease machine's initial state and
 * snapshot (lease.actor.ts newLease), as ActorStore.create would. The row is new and
 * invisible to the reaper until the statement commits together with its messages.
 */
export const openOwnLease = (p: {
  queue: string;
  consumer: string;
  state: string;
  snapshot: string;
  ms: string;
  when: string;
}) => `
l AS (
  INSERT INTO mailroom_lease (id, queue_id, consumer, exclusive, state, snapshot, version, expires_at)
  SELECT gen_random_uuid(), ${p.queue}, ${p.consumer}, false, ${p.state}, ${p.snapshot}::jsonb, 1,
         now() + ${p.ms} * interval '1 millisecond'
   WHERE ${p.when}
  RETURNING id, expires_at
)`;

/**
 * Extend: push the leases named by `ids` (a query of lease_id) to at least now + `ms`,
 * when `when` holds; returns each one's new expires_at. It locks the lease rows only:
 * callers that also lock messages must not (messages then leases would be the reverse of
 * the reaper's order, lease rows then their messages, and could deadlock with it).
 */
export const extendLeases = (p: { ids: string; ms: string; when: string }) => `
UPDATE mailroom_lease l
   SET expires_at = greatest(l.expires_at, now() + ${p.ms} * interval '1 millisecond')
  FROM (${p.ids}) h
 WHERE ${p.when} AND l.id = h.lease_id AND l.state = 'active' AND l.expires_at > now()
RETURNING l.expires_at`;
