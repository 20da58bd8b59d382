import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequestError, LeaseLostError, type MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { sleep } from '../support/wait';

let db: TestDatabase;
let client: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  // A slow poll: a receive that waited for a wake-up instead of claiming again would take seconds.
  client = await startClient(db.dataSource, { pollIntervalMs: 10_000 });
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

const stats = async (queue: string) => (await client.getQueue(queue)).stats;

describe('receive with ack', () => {
  it('acks the given deliveries and claims the next ones in one call', async () => {
    await client.createQueue('acking');
    await client.sendBatch(
      'acking',
      [1, 2, 3, 4].map((body) => ({ body })),
    );
    const first = await client.receive('acking', { consumer: 'w', max: 2 });
    const next = await client.receive('acking', { consumer: 'w', max: 2, ack: first.map((m) => m.receipt) });
    expect(next.map((m) => m.body)).toEqual([3, 4]);
    expect(await stats('acking')).toMatchObject({ available: 0, inFlight: 2 });
    await expect(client.ack('acking', [first[0].receipt])).rejects.toBeInstanceOf(LeaseLostError);
    expect(await client.receive('acking', { consumer: 'w', ack: next.map((m) => m.receipt) })).toEqual([]);
    expect(await stats('acking')).toMatchObject({ available: 0, inFlight: 0 });
  });

  it('acks and claims nothing when one receipt is stale, and names it', async () => {
    await client.createQueue('stale-ack');
    await client.sendBatch(
      'stale-ack',
      [1, 2, 3].map((body) => ({ body })),
    );
    const [a, b] = await client.receive('stale-ack', { consumer: 'w', max: 2 });
    await client.ack('stale-ack', [a.receipt]);
    const error = await client.receive('stale-ack', { consumer: 'w', ack: [a.receipt, b.receipt] }).catch((e) => e);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error.receipts).toEqual([a.receipt]);
    expect(await stats('stale-ack')).toMatchObject({ available: 1, inFlight: 1 });
    const [c] = await client.receive('stale-ack', { consumer: 'w', ack: [b.receipt] });
    expect(c.body).toBe(3);
  });

  it("delivers a group's next message in the same call that acks its predecessor", async () => {
    await client.createQueue('grouped-ack', { ordering: 'grouped' });
    await client.sendBatch('grouped-ack', [
      { body: 'a1', groupKey: 'a' },
      { body: 'a2', groupKey: 'a' },
    ]);
    const [a1] = await client.receive('grouped-ack', { consumer: 'w' });
    expect(await client.receive('grouped-ack', { consumer: 'w' })).toEqual([]);
    const started = Date.now();
    const [a2] = await client.receive('grouped-ack', { consumer: 'w', waitMs: 5_000, ack: [a1.receipt] });
    expect(a2.body).toBe('a2');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('acks when its own lease has expired meanwhile, then claims under a new lease', async () => {
    await client.createQueue('lease-gone');
    await client.sendBatch('lease-gone', [{ body: 'x' }, { body: 'y' }]);
    const [x] = await client.receive('lease-gone', { consumer: 'w', leaseMs: 150 });
    const [y] = await client.receive('lease-gone', { consumer: 'other' });
    await sleep(400); // w's lease expires and the reaper returns x
    const [again] = await client.receive('lease-gone', { consumer: 'w', ack: [y.receipt] });
    expect(again).toMatchObject({ body: 'x', deliveryCount: 2 });
    expect(await stats('lease-gone')).toMatchObject({ available: 0, inFlight: 1 });
    await expect(client.receive('lease-gone', { consumer: 'w', ack: [x.receipt] })).rejects.toBeInstanceOf(
      LeaseLostError,
    );
  });

  it('refuses receipts that are not receipts, and ack with take', async () => {
    await client.createQueue('bad-ack');
    await expect(client.receive('bad-ack', { ack: ['nope'] })).rejects.toThrow(/ack\[0\]/);
    await expect(client.receive('bad-ack', { ack: [] })).rejects.toBeInstanceOf(InvalidRequestError);
    const take = client.take as (queue: string, request: object) => Promise<unknown>;
    await expect(take.call(client, 'bad-ack', { ack: ['x'] })).rejects.toBeInstanceOf(InvalidRequestError);
  });
});
