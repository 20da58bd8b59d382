import { statement, type Placeholders } from '../database/sql-params';
import { liveLease, openOwnLease, renewSessionLease } from '../lease/renew.sql';
import { complete, held, RECEIPTS } from './settle.sql';

/**
 * The deliverable messages of queue `q` (a CTE with id, max_deliveries, ordering, which
 * matches no row when the queue is paused), oldest first, locked for this statement.
 *
 * - FOR UPDATE SKIP LOCKED: competing consumers never wait on, nor take, each other's rows.
 * - grouped ordering: only a group's oldest message is a candidate, and only while no
 *   earlier message of the group exists in any state (in flight, delayed, exhausted),
 *   so a group has at most one message in flight and keeps its order.
 * - Expired messages (time-to-live passed) are never delivered; the janitor removes them.
 * - Copies from paused subscriptions (held_back, one index probe per statement) stay
 *   in the queue undelivered.
 * - Two walks, merged in sequence order: `ready`, the messages deliverable since they were
 *   sent (mailroom_message_claim, in sequence order), and `due`, those sent with a delay,
 *   put back with a retry delay or hidden, whose time has come (mailroom_message_delayed,
 *   soonest due first). A message not yet due is in neither walk: a queue holding 100,000
 *   timers costs a claim nothing more (one walk used to read them all, ~15 ms a claim).
 *   A row one walk locked and the merge left out is unlocked when the statement commits.
 * `limit` is the parameter holding the batch size.
 *
 * The queue's columns are read through scalar subqueries (InitPlans, evaluated once), so
 * each walk is an index scan that stops after `limit` matches. Joined to `q` instead, the
 * planner scanned the whole queue and sorted it: 54 ms for 100 of 20,000 messages, against
 * well under 1 ms (EXPLAIN ANALYZE).
 */
const deliverable = (limit: string) => `
held_back AS (
  SELECT coalesce(array_agg(s.id), '{}') AS ids
    FROM mailroom_subscription s WHERE s.queue_id = (SELECT id FROM q) AND s.state = 'paused'
),
ready AS (${walk(limit, 'm.visible_at <= m.created_at', 'm.seq')}),
due AS (${walk(limit, 'm.visible_at > m.created_at AND m.visible_at <= now()', 'm.visible_at')}),
candidates AS (
  SELECT seq FROM (SELECT seq FROM ready UNION ALL SELECT seq FROM due) c ORDER BY seq LIMIT ${limit}
)`;

/** One walk of `deliverable`: the unleased messages of `q` matching `which`, in `order`, up to `limit`. */
const walk = (limit: string, which: string, order: string) => `
  SELECT m.seq
    FROM mailroom_message m
   WHERE m.queue_id = (SELECT id FROM q) AND m.lease_id IS NULL AND ${which}
     AND m.attempts < (SELECT max_deliveries FROM q)
     AND (m.expires_at IS NULL OR m.expires_at > now())
     AND (m.subscription_id IS NULL OR NOT m.subscription_id = ANY((SELECT ids FROM held_back)::int[]))
     AND ((SELECT ordering FROM q) <> 'grouped' OR m.group_key IS NULL OR NOT EXISTS (
           SELECT 1 FROM mailroom_message e
            WHERE e.queue_id = m.queue_id AND e.group_key = m.group_key AND e.seq < m.seq))
   ORDER BY ${order}
   LIMIT ${limit}
   FOR UPDATE OF m SKIP LOCKED`;

const MESSAGE_COLUMNS = 'm.seq, m.id, m.body, m.headers, m.group_key, m.routing_key, m.delivery_count';

/**
 * The lease's deadline in epoch milliseconds. Every claimed row carries it, and a number
 * is read far more cheaply than a timestamp (pg parses each timestamptz with a regular
 * expression: ~5% of a push consumer's CPU in W3).
 */
const epochMs = (deadline: string) => `(extract(epoch FROM ${deadline}) * 1000)::float8`;

/**
 * Claim into a session's lease (at-least-once, the push consumer's and an exclusive
 * queue's holder): take up to `max` deliverable messages into the session's lease
 * `lease`, renewing it to now + `leaseMs` ms, in one statement. Only the session's own
 * claims and its heartbeat's extends renew its lease.
 *
 * - The lease row is updated (and so locked) before any message is put into it: the lock
 *   conflicts with the reaper's DELETE ... FOR UPDATE, so a lease cannot expire while
 *   messages land in it; if it expired (or was released) meanwhile, `l` is empty, nothing
 *   is claimed, and the session opens a new lease. Without this, messages could land in a
 *   dead lease and never return.
 * - A claim that finds nothing renews only a lease past half its time (renewSessionLease).
 * - `only` further conditions the claim (not the renewal).
 * `lease` is the row as the statement's snapshot saw it; `l` the renewal, if any.
 */
const claimInto = (p: Placeholders<'lease' | 'max' | 'leaseMs'>, only?: string) => `
${liveLease(p.lease)},
q AS (
  SELECT q.id, q.max_deliveries, q.ordering FROM mailroom_queue q JOIN lease ON q.id = lease.queue_id WHERE q.state = 'active'
),
${deliverable(p.max)},
${renewSessionLease({ id: p.lease, ms: p.leaseMs, taking: 'EXISTS (SELECT 1 FROM candidates)' })},
claimed AS (
  UPDATE mailroom_message m
     SET lease_id = ${p.lease}, delivery_count = m.delivery_count + 1
    FROM candidates c
   WHERE m.seq = c.seq AND EXISTS (SELECT 1 FROM l)${only ? ` AND ${only}` : ''}
  RETURNING ${MESSAGE_COLUMNS}
)`;

const SESSION_CLAIM = ['lease', 'max', 'leaseMs'] as const;

/** Returns one row with null seq when the lease is live but nothing was claimed, none when the lease is gone. */
export const CLAIM = statement(
  SESSION_CLAIM,
  (p) => `
WITH ${claimInto(p)}
SELECT ${epochMs('coalesce((SELECT expires_at FROM l), lease.expires_at)')} AS expires_ms, c.*
  FROM lease LEFT JOIN claimed c ON true`,
);

/**
 * Receive with `ack`: ack the receipts (exactly ACK, all or nothing) and claim in one
 * statement, one round trip and one commit instead of two: a consumer that acks a batch
 * and asks for the next one spends half the statements. The claim happens only if every
 * receipt was live, so a stale receipt leaves nothing claimed and nothing acked (`acked`
 * false: the caller raises LeaseLostError). `held` (FOR UPDATE of the acked messages,
 * which are in the lease) is first evaluated by `claimed`'s condition, after `l` took the
 * lease row: the reaper's order, lease row then its messages; the other order could
 * deadlock with a reaper expiring the lease. (`candidates`, locked before `l`, are in no lease.)
 */
export const ACK_AND_CLAIM = statement(
  [...RECEIPTS, ...SESSION_CLAIM],
  (p) => `${held(p)},
${claimInto(p, complete(p))},
acked AS (
  DELETE FROM mailroom_message m USING held WHERE ${complete(p)} AND m.seq = held.seq RETURNING m.seq
)
SELECT ${complete(p)} AS acked, ${epochMs('coalesce((SELECT expires_at FROM l), lease.expires_at)')} AS expires_ms, c.*
  FROM (SELECT) AS one LEFT JOIN lease ON true LEFT JOIN claimed c ON true`,
);

/** `state` and `snapshot`: the new lease's, as lease.actor.ts newLease makes them. */
const OWN_CLAIM = ['queue', 'max', 'leaseMs', 'consumer', 'state', 'snapshot'] as const;

/**
 * Claim into a lease of the claim's own (a pull receive): the statement opens a new lease
 * (openOwnLease) for what it takes, so the batch belongs to this receive alone: its
 * deadline moves only when its receipts are extended, and nobody else's receive renews
 * it. A claim that finds nothing opens nothing and writes nothing. The new lease is
 * invisible to the reaper until the statement commits with its messages, so no message
 * lands in a dead lease. `only` further conditions the claim (and so the lease).
 */
const claimIntoNewLease = (p: Placeholders<(typeof OWN_CLAIM)[number]>, only?: string) => `
q AS (
  SELECT id, max_deliveries, ordering FROM mailroom_queue WHERE id = ${p.queue} AND state = 'active'
),
${deliverable(p.max)},
${openOwnLease({ queue: p.queue, consumer: p.consumer, state: p.state, snapshot: p.snapshot, ms: p.leaseMs, when: `EXISTS (SELECT 1 FROM candidates)${only ? ` AND ${only}` : ''}` })},
claimed AS (
  UPDATE mailroom_message m
     SET lease_id = l.id, delivery_count = m.delivery_count + 1
    FROM candidates c, l
   WHERE m.seq = c.seq
  RETURNING ${MESSAGE_COLUMNS}
)`;

/** One row per message. */
export const CLAIM_OWN = statement(
  OWN_CLAIM,
  (p) => `
WITH ${claimIntoNewLease(p)}
SELECT l.id AS lease_id, ${epochMs('l.expires_at')} AS expires_ms, c.* FROM l, claimed c`,
);

/**
 * ACK_AND_CLAIM for a claim into its own lease (the receipts to ack are on the queue it
 * claims from). The acked messages sit in earlier leases this statement does not touch,
 * and the new lease is locked by nobody else, so the reaper (lease rows, then their
 * messages) cannot deadlock with it: at worst it waits for the acks to commit and finds them gone.
 */
export const ACK_AND_CLAIM_OWN = statement(
  [...RECEIPTS, ...OWN_CLAIM.filter((name) => name !== 'queue')],
  (p) => `${held(p)},
${claimIntoNewLease(p, complete(p))},
acked AS (
  DELETE FROM mailroom_message m USING held WHERE ${complete(p)} AND m.seq = held.seq RETURNING m.seq
)
SELECT ${complete(p)} AS acked, l.id AS lease_id, ${epochMs('l.expires_at')} AS expires_ms, c.*
  FROM (SELECT) AS one LEFT JOIN l ON true LEFT JOIN claimed c ON true`,
);

/**
 * Take (at-most-once): claim and delete in one statement; the handler runs afterwards,
 * so a crash loses the message and nothing can deliver it twice.
 */
export const TAKE = statement(
  ['queue', 'max'],
  (p) => `
WITH q AS (
  SELECT id, max_deliveries, ordering FROM mailroom_queue WHERE id = ${p.queue} AND state = 'active'
),
${deliverable(p.max)}
DELETE FROM mailroom_message m USING candidates c
 WHERE m.seq = c.seq
RETURNING ${MESSAGE_COLUMNS}`,
);
