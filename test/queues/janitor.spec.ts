import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { until } from '../support/wait';

/** The janitor's chores: one queue it cannot clean must not stop it cleaning the others. */

let db: TestDatabase;
let client: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource, { janitorIntervalMs: 100 });
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

const countIn = async (queue: string): Promise<number> => {
  const [{ count }] = await db.dataSource.query(
    `SELECT count(*)::int AS count FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = $1`,
    [queue],
  );
  return count;
};

/** Makes every message of `queue` look an hour old. */
const age = (queue: string) =>
  db.dataSource.query(
    `UPDATE mailroom_message SET created_at = now() - interval '1 hour'
      WHERE queue_id = (SELECT id FROM mailroom_queue WHERE name = $1)`,
    [queue],
  );

describe('janitor', () => {
  it('cleans the other queues when one queue makes its clean-up fail', async () => {
    const queues = ['broken', 'kept-a', 'kept-b'];
    for (const queue of queues) await client.createQueue(queue, { retentionMs: 60_000 });
    // A retention written before durations were bounded: now() minus it is no timestamp,
    // so the retention statement fails for this queue ("timestamp out of range").
    await db.dataSource.query(`UPDATE mailroom_queue SET retention_ms = 9007199254740991 WHERE name = 'broken'`);
    for (const queue of queues) {
      await client.sendBatch(queue, [{ body: 1 }, { body: 2 }]);
      await age(queue);
    }
    await until(async () => (await countIn('kept-a')) === 0 && (await countIn('kept-b')) === 0);
    expect(await countIn('broken')).toBe(2);
  });
});
