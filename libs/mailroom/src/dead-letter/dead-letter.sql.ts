import { MESSAGE_CHANNEL } from '../database/channels';

/**
 * Dead letters of queue $1 are the messages, in whatever DLQ, whose dead_letter records
 * $1 as their original queue (index mailroom_message_dead_letters), so they stay findable
 * after the queue's DLQ is changed. Filters: $2 message ids (null: any), $3 reason (null: any).
 */
const OF_QUEUE = `
  m.dead_letter IS NOT NULL AND m.dead_letter ->> 'queue' = $1
  AND ($2::uuid[] IS NULL OR m.id = ANY($2)) AND ($3::text IS NULL OR m.dead_letter ->> 'reason' = $3)`;

/** A page of dead letters after sequence $4 (cursor), $5 at most. */
export const LIST_DEAD_LETTERS_SQL = `
SELECT m.seq, m.id, m.body, m.headers, m.dead_letter, d.name AS dead_letter_queue
  FROM mailroom_message m JOIN mailroom_queue d ON d.id = m.queue_id
 WHERE ${OF_QUEUE} AND ($4::bigint IS NULL OR m.seq > $4)
 ORDER BY m.seq
 LIMIT $5`;

export const COUNT_DEAD_LETTERS_SQL = `SELECT count(*)::int AS count FROM mailroom_message m WHERE ${OF_QUEUE}`;

/**
 * Redrive one batch ($4 at most) to queue $5, in one statement: delete from the DLQ and
 * insert into the target together, so a batch moves whole or not at all, and nothing is
 * taken unless the target exists. The copy is a fresh message (attempts and deliveries
 * reset) with body and headers unchanged but for the audit header naming the DLQ.
 * SKIP LOCKED: two redrives of one queue share the work instead of waiting.
 */
export const REDRIVE_BATCH_SQL = `
WITH target AS (
  SELECT id FROM mailroom_queue WHERE name = $5 AND state IN ('active', 'paused')
),
picked AS (
  SELECT m.seq FROM mailroom_message m
   WHERE ${OF_QUEUE} AND m.lease_id IS NULL AND EXISTS (SELECT 1 FROM target)
   ORDER BY m.seq
   LIMIT $4
   FOR UPDATE SKIP LOCKED
),
moved AS (
  DELETE FROM mailroom_message m USING picked p, mailroom_queue d
   WHERE m.seq = p.seq AND d.id = m.queue_id
  RETURNING m.*, d.name AS dead_letter_queue
),
restored AS (
  INSERT INTO mailroom_message (seq, queue_id, id, body, headers, group_key, routing_key, visible_at)
  SELECT nextval('mailroom_message_seq'), t.id, x.id, x.body,
         x.headers || jsonb_build_object('mailroom-redriven-from', x.dead_letter_queue),
         x.group_key, x.routing_key, now()
    FROM (SELECT * FROM moved ORDER BY seq) x, target t
  RETURNING queue_id
),
woken AS (
  SELECT pg_notify('${MESSAGE_CHANNEL}', w.queue_id::text) FROM (SELECT DISTINCT queue_id FROM restored) w
)
SELECT (SELECT count(*) FROM restored)::int AS moved, (SELECT count(*) FROM woken) AS woken,
       EXISTS (SELECT 1 FROM target) AS target_exists`;

/** Purge one batch ($4 at most) of dead letters. */
export const PURGE_DEAD_LETTERS_BATCH_SQL = `
WITH picked AS (
  SELECT m.seq FROM mailroom_message m WHERE ${OF_QUEUE} AND m.lease_id IS NULL LIMIT $4 FOR UPDATE SKIP LOCKED
),
gone AS (DELETE FROM mailroom_message m USING picked p WHERE m.seq = p.seq RETURNING 1)
SELECT count(*)::int AS purged FROM gone`;
