import { query } from '../database/transaction';
import type { DataSource } from 'typeorm';
import { asSingleton, CHORE_LOCKS } from '../database/singleton';
import { bury } from '../dead-letter/bury.sql';
import { INBOX_CLEANUP_SQL } from '../inbox/inbox';

const BATCH = 5_000;

/**
 * Messages whose time-to-live passed while waiting (held ones are settled first): to the
 * DLQ (reason expired) where the queue opts in, otherwise deleted and counted on the queue.
 */
const EXPIRE_SQL = `
WITH expired AS (
  SELECT m.seq, m.queue_id FROM mailroom_message m
   WHERE m.expires_at < now() AND m.lease_id IS NULL
   LIMIT ${BATCH}
   FOR UPDATE SKIP LOCKED
),
doomed AS (
  SELECT e.seq, 'expired' AS reason, 'time-to-live passed' AS error, NULL::text AS stack, NULL::text AS consumer
    FROM expired e JOIN mailroom_queue q ON q.id = e.queue_id
   WHERE q.dead_letter_expired
),
${bury('doomed')},
dropped AS (
  DELETE FROM mailroom_message m USING expired e
   WHERE m.seq = e.seq AND m.seq NOT IN (SELECT seq FROM dead)
  RETURNING m.queue_id
),
counted AS (
  UPDATE mailroom_queue q SET expired_dropped = q.expired_dropped + c.n
    FROM (SELECT queue_id, count(*) AS n FROM dropped GROUP BY queue_id) c
   WHERE q.id = c.queue_id
  RETURNING q.id
)
SELECT (SELECT count(*) FROM buried) AS buried, (SELECT count(*) FROM counted) AS counted`;

/**
 * Background clean-up, one node at a time, each statement a bounded batch so no
 * transaction grows long: expired messages, expired dedup entries, unconsumed messages
 * past their queue's retention, messages a send slipped into a queue while it was
 * being deleted, and inbox rows past their retention.
 */
const CHORES = [
  EXPIRE_SQL,
  `DELETE FROM mailroom_dedup WHERE ctid = ANY(ARRAY(
     SELECT ctid FROM mailroom_dedup WHERE expires_at < now() LIMIT ${BATCH}))`,
  `DELETE FROM mailroom_message WHERE seq = ANY(ARRAY(
     SELECT m.seq FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
      WHERE q.retention_ms IS NOT NULL AND m.lease_id IS NULL
        AND m.created_at < now() - q.retention_ms * interval '1 millisecond'
      LIMIT ${BATCH}))`,
  `DELETE FROM mailroom_message WHERE seq = ANY(ARRAY(
     SELECT m.seq FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
      WHERE q.state = 'deleted' LIMIT ${BATCH}))`,
];

export async function cleanUp(dataSource: DataSource, inboxRetentionMs: number): Promise<void> {
  await asSingleton(dataSource, CHORE_LOCKS.janitor, async (tx) => {
    for (const sql of CHORES) await query(tx, sql);
    await query(tx, INBOX_CLEANUP_SQL, [inboxRetentionMs, BATCH]);
  });
}
