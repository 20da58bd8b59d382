import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { fixture, startProcess } from '../support/processes';

let db: TestDatabase;
let client: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

/** Starts a worker process, waits until its handler holds the message, then SIGKILLs it. */
async function killMidHandler(queue: string, ackMode: 'auto' | 'manual'): Promise<string> {
  await client.createQueue(queue);
  const { id } = await client.send(queue, 'precious');
  const worker = startProcess(fixture('push-worker'), { DATABASE_URL: db.url, QUEUE: queue, ACK_MODE: ackMode });
  const [, started] = await worker.waitForLine(/^started (\S+)/);
  expect(started).toBe(id);
  await worker.kill('SIGKILL');
  return id;
}

describe('a worker killed mid-handler', () => {
  it('at-least-once (manual ack): the message comes back with deliveryCount 2', async () => {
    const id = await killMidHandler('crash-manual', 'manual');
    const [again] = await client.receive('crash-manual', { waitMs: 10_000 });
    expect(again).toMatchObject({ id, body: 'precious', deliveryCount: 2 });
  });

  it('at-most-once (auto ack): the message is gone for good', async () => {
    await killMidHandler('crash-auto', 'auto');
    // Nothing in flight, delayed or available: no lease is left whose expiry could bring it back.
    expect((await client.getQueue('crash-auto')).stats).toMatchObject({ available: 0, inFlight: 0, delayed: 0 });
    expect(await client.receive('crash-auto', { waitMs: 500 })).toEqual([]);
  });
});
