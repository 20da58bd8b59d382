import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { watchLongPolls } from '../support/long-polls';
import { until } from '../support/wait';

/**
 * Every single send wakes a waiting consumer, even with an older deliverable message at the
 * queue's head: that message's claim may be in flight (it took the older one and found
 * nothing more), and a send that skipped its wake-up then left the consumer asleep for a
 * poll interval (W4 @OnMessage p99 ~1 s in bench/RESULTS.md before the fix).
 */
let db: TestDatabase;
let client: MailroomClient;
const polls = watchLongPolls();

beforeAll(async () => {
  db = await createTestDatabase();
  // No poll fallback within the test: only a wake-up can deliver.
  client = await startClient(db.dataSource, { pollIntervalMs: 60_000 });
});
afterAll(async () => {
  polls.stop();
  await client?.close();
  await db?.drop();
});

describe('wake-ups of single sends', () => {
  it('wakes a waiting consumer while an older message at the head is being claimed', async () => {
    await client.createQueue('racing');
    const older = await client.send('racing', 'older');
    // A claim of the older message in flight: its row locked, not yet leased in anyone's snapshot.
    const claim = db.dataSource.createQueryRunner();
    await claim.connect();
    await claim.startTransaction();
    try {
      await claim.query(`SELECT seq FROM mailroom_message WHERE id = $1 FOR UPDATE`, [older.id]);
      const receiving = client.receive('racing', { waitMs: 20_000 });
      await until(() => polls.waiting('racing') === 1); // it skipped the locked message and waits
      const newer = await client.send('racing', 'newer');
      // Woken: it stops waiting long before its 20 s (after them it would claim once more
      // and find the message anyway, which would prove nothing).
      await until(() => polls.waiting('racing') === 0);
      const messages = await receiving;
      expect(messages.map((m) => m.id)).toEqual([newer.id]);
    } finally {
      await claim.rollbackTransaction();
      await claim.release();
    }
  });

  it('does not wake consumers for messages that are all delayed: nobody could take them yet', async () => {
    await client.createQueue('later');
    await client.createQueue('now');
    await client.createTopic('wakes');
    await client.subscribe('wakes', 'later-copies', { queue: 'later' });
    const { woken, end } = await listen();
    try {
      const ids = { later: await idOf('later'), now: await idOf('now') };
      // Every way of sending, each delayed: one message, a batch, a publish's copy.
      await client.send('later', 'one', { delayMs: 60_000 });
      await client.sendBatch('later', [
        { body: 'a', delayMs: 60_000 },
        { body: 'b', delayMs: 60_000 },
      ]);
      await client.publish('wakes', 'copy', { delayMs: 60_000 });
      // Notifications arrive in commit order: once this one is in, any of those would be too.
      await client.send('now', 'at once');
      await until(() => woken.includes(ids.now));
      expect(woken).toEqual([ids.now]);
      // A batch with one message deliverable now does wake.
      await client.sendBatch('later', [{ body: 'c', delayMs: 60_000 }, { body: 'd' }]);
      await until(() => woken.includes(ids.later));
    } finally {
      await end();
    }
  });

  it('in a caller’s transaction, wakes the consumers at its commit, and never if it rolls back', async () => {
    await client.createQueue('in-tx');
    await client.createQueue('marker');
    const [inTx, marker] = [await idOf('in-tx'), await idOf('marker')];
    const { woken, end } = await listen();
    const markerHeard = async (count: number) => {
      await client.send('marker', 'after');
      await until(() => woken.filter((queueId) => queueId === marker).length === count);
    };
    const runner = db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await client.send('in-tx', 'kept', { manager: runner.manager });
      // Notifications arrive in commit order: the marker's is in, so a wake-up of the send
      // made before it would be too.
      await markerHeard(1);
      expect(woken).not.toContain(inTx);
      await runner.commitTransaction();
      await until(() => woken.includes(inTx));

      await runner.startTransaction();
      await client.send('in-tx', 'undone', { manager: runner.manager });
      await runner.rollbackTransaction();
      await markerHeard(2);
      expect(woken.filter((queueId) => queueId === inTx)).toHaveLength(1);
    } finally {
      await runner.release();
      await end();
    }
  });
});

/** The queue ids of every wake-up on the message channel from now on, in the order they came. */
async function listen(): Promise<{ woken: string[]; end(): Promise<void> }> {
  const listener = new Client({ connectionString: db.url });
  await listener.connect();
  const woken: string[] = [];
  listener.on('notification', (n) => woken.push(n.payload ?? ''));
  await listener.query('LISTEN mailroom_message');
  return { woken, end: () => listener.end() };
}

async function idOf(queue: string): Promise<string> {
  const [{ id }] = await db.dataSource.query(`SELECT id::text FROM mailroom_queue WHERE name = $1`, [queue]);
  return id;
}
