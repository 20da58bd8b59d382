import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidRequestError,
  InvalidTransitionError,
  MessageTooLargeError,
  QueueNotFoundError,
  type MailroomClient,
} from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';

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

const stats = async (queue: string) => (await client.getQueue(queue)).stats;

describe('send and receive', () => {
  it('stores a lone send (its own statement) exactly as a batch stores the same message', async () => {
    await client.createQueue('lone-vs-batch');
    const message = { headers: { source: 'test' }, groupKey: 'g', delayMs: 50, ttlMs: 60_000 };
    await client.send('lone-vs-batch', 'lone', message);
    await client.sendBatch('lone-vs-batch', [{ body: 'batched', ...message }, { body: 'plain' }]);
    const rows = await db.dataSource.query(
      `SELECT m.body, m.headers, m.group_key, m.visible_at > m.created_at AS delayed,
              m.expires_at - m.created_at > interval '59 seconds' AS ttl
         FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = 'lone-vs-batch' ORDER BY m.seq`,
    );
    const stored = { headers: { source: 'test' }, group_key: 'g', delayed: true, ttl: true };
    expect(rows).toEqual([
      { body: 'lone', ...stored },
      { body: 'batched', ...stored },
      { body: 'plain', headers: {}, group_key: null, delayed: false, ttl: null },
    ]);
  });

  it('keeps a batch in order and carries headers and group keys', async () => {
    await client.createQueue('batch');
    const sent = await client.sendBatch('batch', [
      { body: 'a', headers: { kind: 'x' } },
      { body: 'b', groupKey: 'g1' },
      { body: 'c' },
    ]);
    expect(sent.map((s) => s.duplicate)).toEqual([false, false, false]);
    const got = await client.receive('batch', { max: 3 });
    expect(got.map((m) => [m.body, m.headers, m.groupKey])).toEqual([
      ['a', { kind: 'x' }, null],
      ['b', {}, 'g1'],
      ['c', {}, null],
    ]);
  });

  it('stores a batch all or nothing', async () => {
    await client.createQueue('atomic', { maxMessageBytes: 100 });
    await expect(client.sendBatch('atomic', [{ body: 'ok' }, { body: 'x'.repeat(200) }])).rejects.toBeInstanceOf(
      MessageTooLargeError,
    );
    await expect(client.sendBatch('atomic', [{ body: 'ok' }, { body: 1, delayMs: -1 }])).rejects.toMatchObject({
      field: 'messages[1].delayMs',
    });
    expect(await stats('atomic')).toMatchObject({ available: 0, inFlight: 0, delayed: 0, exhausted: 0 });
  });

  it('hides a delayed message until its time', async () => {
    await client.createQueue('delayed');
    await client.send('delayed', 'later', { delayMs: 400 });
    expect(await client.receive('delayed')).toEqual([]);
    expect((await stats('delayed')).delayed).toBe(1);
    const got = await client.receive('delayed', { waitMs: 3_000 });
    expect(got.map((m) => m.body)).toEqual(['later']);
  });

  it('stores nothing when the caller rolls its transaction back, and the message when it commits', async () => {
    await client.createQueue('tx');
    await expect(
      db.dataSource.transaction(async (manager) => {
        await client.send('tx', 'rolled back', { manager });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await stats('tx')).available).toBe(0);
    await db.dataSource.transaction((manager) => client.send('tx', 'committed', { manager }));
    expect((await client.receive('tx')).map((m) => m.body)).toEqual(['committed']);
  });

  it('acks inside the caller transaction: a rollback keeps the delivery', async () => {
    await client.createQueue('tx-ack');
    await client.send('tx-ack', 1);
    const [m] = await client.receive('tx-ack', { leaseMs: 10_000 });
    await expect(
      db.dataSource.transaction(async (manager) => {
        await client.ack('tx-ack', [m.receipt], { manager });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await stats('tx-ack')).inFlight).toBe(1);
    await client.ack('tx-ack', [m.receipt]);
  });
});

describe('deduplication', () => {
  it('stores a client id once within the dedup window, including in one batch', async () => {
    await client.createQueue('dedup');
    const id = '6f1c1f4e-9d3b-4c4a-8f57-3c1a2b3c4d5e';
    const first = await client.send('dedup', { a: 1 }, { id });
    const again = await client.send('dedup', { a: 2 }, { id });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ id, sequence: first.sequence, duplicate: true });
    const other = '0b9e7c55-54a4-4a52-9f4e-3d4a7e1b2c3d';
    const batch = await client.sendBatch('dedup', [
      { body: 1, id: other },
      { body: 2, id: other },
    ]);
    expect(batch.map((r) => r.duplicate)).toEqual([false, true]);
    expect(batch[1].sequence).toBe(batch[0].sequence);
    expect((await stats('dedup')).available).toBe(2);
  });

  it('remembers an id after the message was consumed', async () => {
    await client.createQueue('dedup-acked');
    const id = '1d4a2f38-8c1e-4f0a-b6b5-2e1f0a9c8d7e';
    await client.send('dedup-acked', 1, { id });
    const [m] = await client.receive('dedup-acked');
    await client.ack('dedup-acked', [m.receipt]);
    expect((await client.send('dedup-acked', 1, { id })).duplicate).toBe(true);
    expect(await client.receive('dedup-acked')).toEqual([]);
  });

  it('stores an id again once its window has passed', async () => {
    await client.createQueue('dedup-window', { dedupWindowMs: 0 });
    const id = '7a0f3e2d-1c4b-4a59-8e76-5d4c3b2a1f0e';
    await client.send('dedup-window', 1, { id });
    expect((await client.send('dedup-window', 1, { id })).duplicate).toBe(false);
  });

  it('stores one copy when the same id races from many connections', async () => {
    await client.createQueue('dedup-race');
    const other = await db.newDataSource();
    const racer = await startClient(other);
    const id = '3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a9f';
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? client : racer).send('dedup-race', i, { id })),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.sequence)).size).toBe(1);
    expect((await stats('dedup-race')).available).toBe(1);
    await racer.close();
  });
});

describe('queue administration', () => {
  it('creates, updates, lists and validates options', async () => {
    const created = await client.createQueue('admin', { leaseMs: 5_000 });
    expect(created.created).toBe(true);
    const updated = await client.createQueue('admin', { maxDeliveries: 3 });
    expect(updated).toMatchObject({ created: false, queue: { options: { leaseMs: 5_000, maxDeliveries: 3 } } });
    expect((await client.listQueues()).map((q) => q.name)).toContain('admin');
    await expect(client.createQueue('admin', { leaseMs: 'x' })).rejects.toMatchObject({ field: 'leaseMs' });
    await expect(client.createQueue('admin', { colour: 'red' })).rejects.toMatchObject({ field: 'colour' });
    await expect(client.createQueue('admin', { ordering: 'grouped' })).rejects.toBeInstanceOf(InvalidTransitionError);
    await expect(client.createQueue('bad name!')).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('pauses delivery but keeps accepting sends', async () => {
    await client.createQueue('pausable');
    await client.pauseQueue('pausable');
    await client.send('pausable', 'while paused');
    expect(await client.receive('pausable')).toEqual([]);
    const resumed = await client.resumeQueue('pausable');
    expect(resumed).toMatchObject({ state: 'active', stats: { available: 1 } });
    expect((await client.receive('pausable')).map((m) => m.body)).toEqual(['while paused']);
  });

  it('purges what is not in flight and deletes the queue', async () => {
    await client.createQueue('doomed');
    await client.sendBatch('doomed', [{ body: 1 }, { body: 2 }, { body: 3 }]);
    const [held] = await client.receive('doomed');
    expect(await client.purgeQueue('doomed')).toEqual({ purged: 2 });
    await client.ack('doomed', [held.receipt]);
    await client.deleteQueue('doomed');
    await expect(client.getQueue('doomed')).rejects.toBeInstanceOf(QueueNotFoundError);
    await expect(client.send('doomed', 1)).rejects.toBeInstanceOf(QueueNotFoundError);
    expect((await client.createQueue('doomed')).created).toBe(true);
    expect((await client.getQueue('doomed')).stats.available).toBe(0);
  });

  it('refuses sends to unknown queues and oversize messages', async () => {
    await expect(client.send('nowhere', 1)).rejects.toBeInstanceOf(QueueNotFoundError);
    await client.createQueue('small', { maxMessageBytes: 64 });
    await expect(client.send('small', 'x'.repeat(100))).rejects.toBeInstanceOf(MessageTooLargeError);
  });
});
