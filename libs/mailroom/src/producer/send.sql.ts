import { MESSAGE_CHANNEL } from '../database/channels';

/** How many of a producer's latest sequences keep their original answer for a retry. */
export const PRODUCER_ACKS_KEPT = 10_000;

/**
 * Send: one statement for a whole batch, so a batch is stored all or nothing and costs
 * one round trip and one commit.
 *
 * - The queue is resolved by name in the same statement: a queue deleted concurrently
 *   yields no rows (the caller explains 404/410) instead of orphan messages.
 * - Sequences are drawn in input order (WITH ORDINALITY, MATERIALIZED), so a batch keeps
 *   its order in the queue.
 * - Client-supplied ids are remembered in mailroom_dedup. ON CONFLICT DO UPDATE ... WHERE
 *   expired takes the conflicting row's lock, so two concurrent sends of one id cannot
 *   both store it; the loser sees no RETURNING row and reports a duplicate. Generated ids
 *   skip the register: a random uuid cannot collide.
 * - An idempotent producer's send ($9 id, $10 epoch, $11 last and $12 first sequence, $13
 *   each message's sequence) locks its producer row at the current epoch: FOR UPDATE waits
 *   for a concurrent re-initialisation or send and re-reads the row, so a zombie instance is
 *   fenced and stores nothing, and `acked` is the highest sequence any committed send of this
 *   epoch carried. As in Kafka, a message whose sequence is at or below it is a retry: it is
 *   stored nothing, whatever the queue's dedup window (even 0), and answered from
 *   mailroom_producer_ack, where each stored message's answer is kept for the producer's
 *   last PRODUCER_ACKS_KEPT sequences: older ones, and every row of an older epoch, are
 *   trimmed here under the same lock (a re-initialisation cannot: it does not hold it).
 * - The wake-up NOTIFY is part of the statement and is delivered on commit only; a send whose
 *   messages are all delayed notifies nobody (no consumer could take them yet: a claim
 *   woken by it would find nothing; they are found once due, by a poll or a timer's wake-up).
 * - Shaped for batches of 1,000 (W2, bench/RESULTS.md): the ids come as one comma-separated
 *   string ($2) and the bodies as one JSON array ($3), with no per-element array quoting
 *   on either side; a column whose every value is its default
 *   ($4 headers, $5 group keys, $6 delays, $7 client-id flags, $8 ttls) may be NULL; the
 *   answer is one row whose `seqs` lists each input's sequence, in input order, empty for
 *   one not stored (a duplicate), instead of a row per message.
 */
export const SEND_SQL = `
WITH p AS (
  UPDATE mailroom_producer pr
     SET last_sequence = greatest(pr.last_sequence, $11), updated_at = now()
    FROM (SELECT id, last_sequence FROM mailroom_producer
           WHERE $9::text IS NOT NULL AND id = $9 AND epoch = $10 FOR UPDATE) prev
   WHERE pr.id = prev.id AND (NOT pr.reject_gaps OR $12 <= prev.last_sequence + 1)
  RETURNING pr.id, prev.last_sequence AS acked
),
q AS (
  SELECT id, dedup_window_ms, message_ttl_ms FROM mailroom_queue
   WHERE name = $1 AND state IN ('active', 'paused') AND ($9::text IS NULL OR EXISTS (SELECT 1 FROM p))
),
input AS MATERIALIZED (
  SELECT i.id, i.body, coalesce(i.headers, '{}') AS headers, i.group_key, coalesce(i.delay_ms, 0) AS delay_ms,
         coalesce(i.client_id, false) AS client_id, i.ttl_ms, i.ord, nextval('mailroom_message_seq') AS seq,
         i.sequence, $9::text IS NULL OR i.sequence > (SELECT acked FROM p) AS fresh
    FROM ROWS FROM (unnest(string_to_array($2, ',')::uuid[]), jsonb_array_elements($3::jsonb),
                    unnest($4::jsonb[]), unnest($5::text[]), unnest($6::int[]), unnest($7::bool[]),
                    unnest($8::bigint[]), unnest($13::bigint[])) WITH ORDINALITY
         AS i(id, body, headers, group_key, delay_ms, client_id, ttl_ms, sequence, ord)
   WHERE EXISTS (SELECT 1 FROM q)
   ORDER BY i.ord
),
remembered AS (
  INSERT INTO mailroom_dedup AS d (queue_id, message_id, seq, expires_at)
  SELECT q.id, i.id, i.seq, now() + q.dedup_window_ms * interval '1 millisecond'
    FROM q JOIN input i ON i.client_id AND i.fresh
  ON CONFLICT (queue_id, message_id) DO UPDATE
     SET seq = EXCLUDED.seq, expires_at = EXCLUDED.expires_at
   WHERE d.expires_at <= now()
  RETURNING d.message_id
),
stored AS (
  INSERT INTO mailroom_message (seq, queue_id, id, body, headers, group_key, visible_at, expires_at)
  SELECT i.seq, q.id, i.id, i.body, i.headers, i.group_key, now() + i.delay_ms * interval '1 millisecond',
         now() + coalesce(i.ttl_ms, q.message_ttl_ms) * interval '1 millisecond'
    FROM q JOIN input i ON i.fresh AND (NOT i.client_id OR i.id IN (SELECT message_id FROM remembered))
  RETURNING id, seq, visible_at <= created_at AS ready
),
acks AS (
  INSERT INTO mailroom_producer_ack (producer_id, epoch, sequence, message_id, seq)
  SELECT $9, $10, i.sequence, s.id, s.seq FROM stored s JOIN input i USING (seq) WHERE $9::text IS NOT NULL
),
trimmed AS (
  DELETE FROM mailroom_producer_ack
   WHERE producer_id = (SELECT id FROM p) AND (epoch < $10 OR epoch = $10 AND sequence <= $11 - ${PRODUCER_ACKS_KEPT})
),
woken AS (
  SELECT pg_notify('${MESSAGE_CHANNEL}', q.id::text) FROM q WHERE EXISTS (SELECT 1 FROM stored WHERE ready)
)
SELECT q.id AS queue_id, (SELECT acked FROM p)::text AS acked,
       (SELECT string_agg(coalesce(s.seq::text, ''), ',' ORDER BY i.ord) FROM input i LEFT JOIN stored s USING (seq)) AS seqs
  FROM q
 CROSS JOIN (SELECT count(*) FROM woken) AS w`;

/**
 * Send of one message with a generated id and no producer stamp, the common single send:
 * SEND_SQL without the batch machinery (no dedup register to consult, no producer to
 * fence, no input to materialise), same answer. $1 queue, $2 id, $3 body, $4 headers,
 * $5 group key, $6 delay ms, $7 ttl ms; a NULL takes the default, as in SEND_SQL.
 * Measured one send at a time (W1): ~350 → ~300 µs a send.
 *
 * Every send of a message deliverable now notifies (a delayed one does not, as in SEND_SQL).
 * A send that skipped its wake-up because an older deliverable message
 * sat at the queue's head (tried: W1 0.9 instead of 0.6 × a plain INSERT) left a consumer
 * asleep whenever that older message's claim was in flight: the claim, not yet committed,
 * took the older one, found nothing more, and its consumer waited a poll interval for this
 * one (W4 @OnMessage p50 173 ms, p99 984 ms; test/queues/send-wakeups.spec.ts).
 */
export const SEND_ONE_SQL = `
WITH q AS (
  SELECT id, message_ttl_ms FROM mailroom_queue WHERE name = $1 AND state IN ('active', 'paused')
),
stored AS (
  INSERT INTO mailroom_message (seq, queue_id, id, body, headers, group_key, visible_at, expires_at)
  SELECT nextval('mailroom_message_seq'), q.id, $2::uuid, $3::jsonb, coalesce($4::jsonb, '{}'), $5::text,
         now() + coalesce($6::int, 0) * interval '1 millisecond',
         now() + coalesce($7::bigint, q.message_ttl_ms) * interval '1 millisecond'
    FROM q
  RETURNING queue_id, seq, visible_at <= created_at AS ready
)
SELECT s.queue_id, s.seq::text AS seqs, CASE WHEN s.ready THEN pg_notify('${MESSAGE_CHANNEL}', s.queue_id::text) END AS woken
  FROM stored s`;

/** The answers kept for a producer's sequences that SEND_SQL found already sent (rare path). */
export const PRODUCER_ACKS_SQL = `
SELECT sequence, message_id AS id, seq FROM mailroom_producer_ack
 WHERE producer_id = $1 AND epoch = $2 AND sequence = ANY($3::bigint[])`;

/** The sequences first assigned to ids that SEND_SQL reported as duplicates (rare path). */
export const DUPLICATES_SQL = `
SELECT message_id AS id, seq FROM mailroom_dedup WHERE queue_id = $1 AND message_id = ANY($2::uuid[])`;
