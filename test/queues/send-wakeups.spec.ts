import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient } from '@mailroom/core';
import { MESSAGE_CHANNEL } from '../../libs/mailroom/src/database/channels';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { until } from '../support/wait';

let db: TestDatabase;
let client: MailroomClient;
let listener: Client;
/** Queue ids in the order their wake-ups arrived (Postgres delivers them in commit order). */
const woken: number[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
  listener = new Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (n) => n.channel === MESSAGE_CHANNEL && woken.push(Number(n.payload)));
  await listener.query(`LISTEN ${MESSAGE_CHANNEL}`);
});
afterAll(async () => {
  await listener?.end();
  await client?.close();
  await db?.drop();
});

const idOf = async (queue: string): Promise<number> =>
  (await db.dataSource.query(`SELECT id FROM mailroom_queue WHERE name = $1`, [queue]))[0].id;

let markers = 0;

/**
 * Sends to a new, empty queue (so it notifies) and waits for that wake-up: every wake-up of
 * an earlier commit has arrived by then. Returns the queue ids woken since the last call.
 */
async function settle(): Promise<number[]> {
  const marker = `marker-${(markers += 1)}`;
  await client.createQueue(marker);
  const id = await idOf(marker);
  await client.send(marker, 'marker');
  await until(() => woken.includes(id));
  return woken.splice(0);
}

describe('wake-ups of single sends', () => {
  it('wakes consumers for the first message of an empty queue, not for sends behind a deliverable one', async () => {
    await client.createQueue('backlog');
    const backlog = await idOf('backlog');
    await settle();
    for (let i = 0; i < 5; i += 1) await client.send('backlog', i);
    expect((await settle()).filter((id) => id === backlog)).toHaveLength(1);
  });

  it('still wakes consumers when the head of the queue is not deliverable (delayed), or the queue is grouped', async () => {
    await client.createQueue('delayed-head');
    await client.createQueue('grouped-wakeups', { ordering: 'grouped' });
    const delayed = await idOf('delayed-head');
    const grouped = await idOf('grouped-wakeups');
    await settle();
    await client.send('delayed-head', 'later', { delayMs: 3_600_000 });
    await client.send('delayed-head', 'now-1');
    await client.send('delayed-head', 'now-2');
    for (let i = 0; i < 3; i += 1) await client.send('grouped-wakeups', i);
    const arrived = await settle();
    expect(arrived.filter((id) => id === delayed)).toHaveLength(3);
    expect(arrived.filter((id) => id === grouped)).toHaveLength(3);
  });

  it('delivers every message to a consumer that waits while a backlog fills without wake-ups', async () => {
    await client.createQueue('waiting-consumer');
    const received: unknown[] = [];
    const controller = new AbortController();
    const consuming = (async () => {
      while (!controller.signal.aborted && received.length < 20) {
        const batch = await client.receive('waiting-consumer', { max: 7, waitMs: 20_000, signal: controller.signal });
        if (batch.length)
          await client.ack(
            'waiting-consumer',
            batch.map((m) => m.receipt),
          );
        received.push(...batch.map((m) => m.body));
      }
    })();
    for (let i = 0; i < 20; i += 1) await client.send('waiting-consumer', i);
    await until(() => received.length === 20);
    controller.abort();
    await consuming;
    expect([...received].sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
