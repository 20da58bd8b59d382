import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
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

describe('send and receive', () => {
  it('delivers in FIFO order and acks', async () => {
    await client.createQueue('fifo');
    for (let i = 0; i < 5; i += 1) await client.send('fifo', { n: i });
    const got = await client.receive<{ n: number }>('fifo', { max: 10 });
    expect(got.map((m) => m.body.n)).toEqual([0, 1, 2, 3, 4]);
    expect(got.every((m) => m.deliveryCount === 1)).toBe(true);
    expect(
      await client.ack(
        'fifo',
        got.map((m) => m.receipt),
      ),
    ).toEqual({ acked: 5 });
    expect((await client.getQueue('fifo')).stats).toEqual({ available: 0, inFlight: 0, delayed: 0, exhausted: 0 });
  });

  it('stores a client id once within the dedup window', async () => {
    await client.createQueue('dedup');
    const id = '6f1c1f4e-9d3b-4c4a-8f57-3c1a2b3c4d5e';
    const first = await client.send('dedup', { a: 1 }, { id });
    const again = await client.send('dedup', { a: 2 }, { id });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ id, sequence: first.sequence, duplicate: true });
    expect((await client.getQueue('dedup')).stats.available).toBe(1);
  });
});
