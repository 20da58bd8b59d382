import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequestError, LeaseLostError, type MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { until } from '../support/wait';

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
  it("delivers a group's next message in the same call that acks its predecessor", async () => {
    await client.createQueue('grouped-ack', { ordering: 'grouped' });
    await client.sendBatch('grouped-ack', [
      { body: 'a1', groupKey: 'a' },
      { body: 'a2', groupKey: 'a' },
    ]);
    const [a1] = await client.receive('grouped-ack', { consumer: 'w' });
    expect(await client.receive('grouped-ack', { consumer: 'w' })).toEqual([]);
    // The client polls every 10 s: within this 5 s wait only the ack's own claim or wake-up can deliver a2.
    const [a2] = await client.receive('grouped-ack', { consumer: 'w', waitMs: 5_000, ack: [a1.receipt] });
    expect(a2.body).toBe('a2');
  });

  it('acks when its own lease has expired meanwhile, then claims under a new lease', async () => {
    await client.createQueue('lease-gone');
    await client.sendBatch('lease-gone', [{ body: 'x' }, { body: 'y' }]);
    const [x] = await client.receive('lease-gone', { consumer: 'w', leaseMs: 150 });
    const [y] = await client.receive('lease-gone', { consumer: 'other' });
    // w's lease expires and the reaper returns x.
    await until(async () => (await stats('lease-gone')).available === 1);
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
