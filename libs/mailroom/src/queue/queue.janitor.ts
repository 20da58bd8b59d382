import { query } from '../database/transaction';
import type { DataSource, EntityManager } from 'typeorm';
import { asSingleton, CHORE_LOCKS } from '../database/singleton';
import { bury, perQueue } from '../dead-letter/bury.sql';
import { record, type QueueCount } from '../observability/instruments';
import type { QueueService } from './queue.service';

const BATCH = 5_000;

/**
 * Messages whose time-to-live passed while waiting (held ones are settled first): to the
 * DLQ (reason expired) where the queue opts in, otherwise deleted and counted on the queue.
 * Returns, per queue, how many went each way (for the metrics).
 */
const EXPIRE_SQL = `
WITH expired AS (
  SELECT m.seq, m.queue_id FROM mailroom_message m
   WHERE m.expires_at < now() AND m.lease_id IS NULL AND ($1::int IS NULL OR m.queue_id = $1)
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
SELECT (SELECT count(*) FROM buried) AS buried, (SELECT count(*) FROM counted) AS counted,
       ${perQueue('dead', 'reason')} AS dead_lettered, ${perQueue('dropped')} AS dropped`;

interface ExpireRow {
  dead_lettered: QueueCount[];
  dropped: QueueCount[];
}

/**
 * Background clean-up, one node at a time, each statement a bounded batch so no
 * transaction grows long: expired messages, expired dedup entries, unconsumed messages
 * past their queue's retention, messages a send slipped into a queue while it was
 * being deleted, and the steps the layers above add (inbox rows past their retention);
 * then the deletions a crash left half done. Each chore takes $1, a queue id
 * to confine it to, or NULL for every queue.
 */
const CHORES = [
  EXPIRE_SQL,
  `DELETE FROM mailroom_dedup WHERE ctid = ANY(ARRAY(
     SELECT ctid FROM mailroom_dedup WHERE expires_at < now() AND ($1::int IS NULL OR queue_id = $1) LIMIT ${BATCH}))`,
  `DELETE FROM mailroom_message WHERE seq = ANY(ARRAY(
     SELECT m.seq FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
      WHERE q.retention_ms IS NOT NULL AND m.lease_id IS NULL AND ($1::int IS NULL OR q.id = $1)
        AND m.created_at < now() - q.retention_ms * interval '1 millisecond'
      LIMIT ${BATCH}))`,
  `DELETE FROM mailroom_message WHERE seq = ANY(ARRAY(
     SELECT m.seq FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
      WHERE q.state = 'deleted' AND ($1::int IS NULL OR q.id = $1) LIMIT ${BATCH}))`,
];

/**
 * Runs the chores; a chore that fails (one queue's data it cannot handle) is run again
 * queue by queue, so that queue alone is left undone. The failures are raised after the
 * transaction commits, which keeps what the other queues' chores did.
 */
/** A clean-up step a higher layer adds to the janitor's transaction (the queue layer knows none of them). */
export type JanitorStep = (tx: EntityManager, batch: number) => Promise<unknown>;

export async function cleanUp(dataSource: DataSource, queues: QueueService, steps: JanitorStep[]): Promise<void> {
  const failures: unknown[] = [];
  const expired: ExpireRow[] = [];
  const ran = await asSingleton(dataSource, CHORE_LOCKS.janitor, async (tx) => {
    for (const sql of CHORES) {
      const done = sql === EXPIRE_SQL ? (rows: ExpireRow[]) => expired.push(...rows) : undefined;
      if ((await attempt(tx, sql, null, done)) === null) continue;
      const queues = await query<{ id: number }>(tx, 'SELECT id FROM mailroom_queue ORDER BY id');
      for (const { id } of queues) {
        const error = await attempt(tx, sql, id, done);
        if (error !== null) failures.push(new Error(`queue id ${id}: ${(error as Error).message}`, { cause: error }));
      }
    }
    for (const step of steps) await step(tx, BATCH);
  });
  // Counted once committed.
  for (const row of expired) {
    for (const c of row.dead_lettered) record('deadLettered', c.queue, c.reason!, c.n);
    for (const c of row.dropped) record('expiredDropped', c.queue, c.n);
  }
  // Outside the chores' transaction: a deletion is many batches, each its own.
  if (ran) await queues.finishDeletions().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) {
    const first = (failures[0] as Error).message;
    throw new AggregateError(failures, `${failures.length} chore(s) failed, the others ran; first: ${first}`);
  }
}

/** One chore in a savepoint, so its failure leaves the transaction usable; resolves its error, or null. */
async function attempt<R>(
  tx: EntityManager,
  sql: string,
  queueId: number | null,
  done?: (rows: R[]) => void,
): Promise<unknown> {
  await tx.query('SAVEPOINT chore');
  try {
    const rows = await query<R>(tx, sql, [queueId]);
    await tx.query('RELEASE SAVEPOINT chore');
    done?.(rows);
    return null;
  } catch (error) {
    await tx.query('ROLLBACK TO SAVEPOINT chore');
    return error;
  }
}
