import { query } from '../database/transaction';
import type { DataSource } from 'typeorm';
import { asSingleton, CHORE_LOCKS } from '../database/singleton';

const BATCH = 5_000;

/**
 * Background clean-up, one node at a time, each statement a bounded batch so no
 * transaction grows long: expired dedup entries, unconsumed messages past their queue's
 * retention, and messages a send slipped into a queue while it was being deleted.
 */
const CHORES = [
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

export async function cleanUp(dataSource: DataSource): Promise<void> {
  await asSingleton(dataSource, CHORE_LOCKS.janitor, async (tx) => {
    for (const sql of CHORES) await query(tx, sql);
  });
}
