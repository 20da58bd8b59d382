import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient, ReceivedMessage } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { servicesOf } from '@mailroom/core/services/mailroom.services';
import { until } from '../support/wait';

/**
 * DESIGN.md, Lease: a delivery's lease belongs to the client that received it. Only its
 * owner's extend moves its deadline; another receive of the same consumer name never keeps
 * it alive, and expired deliveries come back within a reaper pass or two, however many.
 */
let db: TestDatabase;
let broker: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  broker = await startClient(db.dataSource);
});
afterAll(async () => {
  await broker?.close();
  await db?.drop();
});

const leaseRows = async (queue: string): Promise<{ expires_at: Date }[]> =>
  db.dataSource.query(
    `SELECT l.expires_at FROM mailroom_lease l JOIN mailroom_queue q ON q.id = l.queue_id WHERE q.name = $1`,
    [queue],
  );

/** Polls as `consumer` until it has received every id of `ids`, and returns what it got. */
async function pollUntilReceived(queue: string, consumer: string, ids: string[]): Promise<ReceivedMessage[]> {
  const got = new Map<string, ReceivedMessage>();
  await until(async () => {
    for (const m of await broker.receive(queue, { consumer, max: 10, waitMs: 200, leaseMs: 1_000 })) got.set(m.id, m);
    return ids.every((id) => got.has(id));
  }, 15_000);
  return [...got.values()];
}

describe('lease ownership', () => {
  it('gives a consumer restarted under its stable name its in-flight messages back after the lease', async () => {
    await broker.createQueue('restarted');
    await broker.sendBatch(
      'restarted',
      Array.from({ length: 10 }, (_, n) => ({ body: n })),
    );
    const inFlight = await broker.receive('restarted', { consumer: 'stable', max: 10, leaseMs: 1_000 });
    expect(inFlight).toHaveLength(10);
    // The process restarts and polls again under the same name, through the same broker.
    const back = await pollUntilReceived(
      'restarted',
      'stable',
      inFlight.map((m) => m.id),
    );
    expect(back).toHaveLength(10);
    await broker.ack(
      'restarted',
      back.map((m) => m.receipt),
    );
  });

  it('moves a deadline only for the receipts of its own receive', async () => {
    await broker.createQueue('own-extend');
    await broker.sendBatch('own-extend', [{ body: 'a' }, { body: 'b' }]);
    const [a] = await broker.receive('own-extend', { consumer: 'same', leaseMs: 1_000 });
    const [b] = await broker.receive('own-extend', { consumer: 'same', leaseMs: 1_000 });
    const { leaseExpiresAt } = await broker.extend('own-extend', [b.receipt], 60_000);
    const deadlines = (await leaseRows('own-extend')).map((l) => l.expires_at.getTime()).sort();
    expect(deadlines).toEqual([a.leaseExpiresAt!.getTime(), leaseExpiresAt.getTime()]);
  });

  it('returns 3,000 leases expiring together in one reaper pass, and deletes their rows', async () => {
    // A database of its own: this test's reaper passes are the only ones.
    const own = await createTestDatabase();
    const node = await startClient(own.dataSource, { reaperIntervalMs: 600_000 });
    const leaseRows = async (queue: string): Promise<{ expires_at: Date }[]> =>
      own.dataSource.query(
        `SELECT l.expires_at FROM mailroom_lease l JOIN mailroom_queue q ON q.id = l.queue_id WHERE q.name = $1`,
        [queue],
      );
    await node.createQueue('many-leases', { maxDeliveries: 5 });
    const count = 3_000;
    await node.sendBatch(
      'many-leases',
      Array.from({ length: count }, (_, n) => ({ body: n })),
    );
    for (let start = 0; start < count; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          node.receive('many-leases', { consumer: `one-off-${start + i}`, leaseMs: 1_000 }),
        ),
      );
    }
    expect(await leaseRows('many-leases')).toHaveLength(count);
    await until(async () => (await leaseRows('many-leases')).every((l) => l.expires_at.getTime() < Date.now() - 50));
    expect(await servicesOf(node).leases.reap()).toBe(count);
    const [returned] = await own.dataSource.query(
      `SELECT count(*)::int AS available, min(attempts) AS min, max(attempts) AS max FROM mailroom_message m
         JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = 'many-leases' AND m.lease_id IS NULL`,
    );
    expect(returned).toEqual({ available: count, min: 1, max: 1 });
    expect(await leaseRows('many-leases')).toEqual([]);
    await node.close();
    await own.drop();
  });

  it('deletes the lease rows of released and of expired, fully acked leases', async () => {
    const node = await startClient(db.dataSource);
    await node.createQueue('bounded-leases');
    await node.sendBatch('bounded-leases', [{ body: 1 }, { body: 2 }]);
    await node.receive('bounded-leases', { consumer: 'leaves' });
    const [acked] = await node.receive('bounded-leases', { consumer: 'acks', leaseMs: 200 });
    await node.ack('bounded-leases', [acked.receipt]);
    expect(await leaseRows('bounded-leases')).toHaveLength(2);
    await node.release('bounded-leases', 'leaves');
    await until(async () => (await leaseRows('bounded-leases')).length === 0);
    expect((await node.getQueue('bounded-leases')).stats).toMatchObject({ available: 1, inFlight: 0 });
    await node.close();
  });
});
