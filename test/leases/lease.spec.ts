import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError, type MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, startNodes, type TestDatabase } from '../support/database';
// Not part of the public API: the advisory lock key the reaper takes, and the node's reaper.
import { CHORE_LOCKS } from '../../libs/mailroom/src/database/singleton';
import { servicesOf } from '@mailroom/core/services/mailroom.services';
import { until } from '../support/wait';

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

const attempts = async (queue: string) =>
  (
    await db.dataSource.query(
      `SELECT m.attempts, m.delivery_count FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = $1`,
      [queue],
    )
  )[0];

const attemptsOf = async (queue: string): Promise<number[]> =>
  (
    await db.dataSource.query(
      `SELECT m.attempts FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = $1 ORDER BY m.seq`,
      [queue],
    )
  ).map((r: { attempts: number }) => r.attempts);

describe('leases', () => {
  it('refuses a receipt once its lease expired, even before the reaper ran', async () => {
    const slowReaper = await startClient(db.dataSource, { reaperIntervalMs: 600_000 });
    await slowReaper.createQueue('expired-unreaped');
    await slowReaper.send('expired-unreaped', 1);
    const [m] = await slowReaper.receive('expired-unreaped', { leaseMs: 100 });
    await until(() => Date.now() > m.leaseExpiresAt!.getTime());
    await expect(slowReaper.ack('expired-unreaped', [m.receipt])).rejects.toBeInstanceOf(LeaseLostError);
    await slowReaper.close();
  });

  it('releases unsettled messages on close without spending an attempt', async () => {
    const other = await startClient(db.dataSource);
    await other.createQueue('graceful', { maxDeliveries: 1 });
    await other.send('graceful', 'unstarted');
    await other.receive('graceful', { consumer: 'shutting-down' });
    await other.close();
    expect(await attempts('graceful')).toEqual({ attempts: 0, delivery_count: 1 });
    const [m] = await client.receive('graceful');
    expect(m.deliveryCount).toBe(2);
  });

  it('keeps leases across close when asked (a broker restart), so receipts stay good on another node', async () => {
    const broker = await startClient(db.dataSource, { releaseLeasesOnClose: false });
    await broker.createQueue('survives-restart');
    await broker.send('survives-restart', 1);
    const [m] = await broker.receive('survives-restart', { leaseMs: 10_000 });
    await broker.close();
    expect(await client.ack('survives-restart', [m.receipt])).toEqual({ acked: 1 });
  });

  it('gives each of concurrent receives on one consumer name a lease of its own', async () => {
    await client.createQueue('shared-session');
    await client.sendBatch(
      'shared-session',
      Array.from({ length: 50 }, (_, n) => ({ body: n })),
    );
    const batches = await Promise.all(
      Array.from({ length: 10 }, () => client.receive('shared-session', { consumer: 'shared', max: 5 })),
    );
    expect(batches.flat()).toHaveLength(50);
    const [{ leases }] = await db.dataSource.query(
      `SELECT count(*)::int AS leases FROM mailroom_lease l JOIN mailroom_queue q ON q.id = l.queue_id
        WHERE q.name = 'shared-session' AND l.consumer = 'shared'`,
    );
    expect(leases).toBe(10);
    for (const batch of batches) expect(new Set(batch.map((m) => m.leaseExpiresAt!.getTime())).size).toBe(1);
    await client.ack(
      'shared-session',
      batches.flat().map((m) => m.receipt),
    );
  });

  it('marks a message exhausted when its failures reach maxDeliveries in a queue without a DLQ', async () => {
    await client.createQueue('poison', { maxDeliveries: 2, deadLetterQueue: null, retry: { delayMs: 0 } });
    await client.send('poison', 'bad');
    for (let i = 0; i < 2; i += 1) {
      const [m] = await client.receive('poison');
      await client.nack('poison', [m.receipt]);
    }
    expect(await client.receive('poison')).toEqual([]);
    expect((await client.getQueue('poison')).stats).toMatchObject({ available: 0, exhausted: 1 });
  });

  it('reaps on one node at a time: not while another node holds the reaper lock, then exactly once', async () => {
    const nodes = await startNodes(db, 3);
    await client.createQueue('reaped');
    await client.sendBatch('reaped', [{ body: 1 }, { body: 2 }]);
    // Another node mid-pass: it holds the reaper's lock until this transaction ends.
    const holder = (await db.newDataSource()).createQueryRunner();
    await holder.startTransaction();
    await holder.query('SELECT pg_advisory_xact_lock($1)', [CHORE_LOCKS.leaseReaper]);
    const [m] = await client.receive('reaped', { consumer: 'dies', leaseMs: 100, max: 2 });
    await until(async () => Date.now() > m.leaseExpiresAt!.getTime() + 50);
    expect(await Promise.all(nodes.map((n) => servicesOf(n).leases.reap()))).toEqual([0, 0, 0]);
    expect(await attemptsOf('reaped')).toEqual([0, 0]);
    await holder.commitTransaction();
    await holder.release();
    const counts = await Promise.all(nodes.map((n) => servicesOf(n).leases.reap()));
    // The nodes' own timers may have reaped first; whoever did, the lease was returned once.
    expect(counts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);
    await until(async () => (await attemptsOf('reaped')).every((n) => n === 1));
    expect(await attemptsOf('reaped')).toEqual([1, 1]);
    await Promise.all(nodes.map((n) => n.close()));
  });
  it("renews a session's lease on a claim that takes messages, and on an empty one only past half its time", async () => {
    await client.createQueue('renewal');
    const session = { consumer: 'renewer', session: 'instance-1' };
    const lease = async () =>
      (
        await db.dataSource.query(
          `SELECT xmin::text AS version, expires_at FROM mailroom_lease WHERE consumer = 'renewer' AND state = 'active'`,
        )
      )[0] as { version: string; expires_at: Date };
    expect(await client.receive('renewal', { ...session, leaseMs: 1_000 })).toEqual([]);
    const opened = await lease();
    expect(await client.receive('renewal', { ...session, leaseMs: 1_000 })).toEqual([]);
    expect(await lease()).toEqual(opened); // not even a row version: the empty claim wrote nothing
    // Past half the lease's time, so that the next empty claim renews it.
    await until(() => Date.now() > opened.expires_at.getTime() - 400);
    expect(await client.receive('renewal', { ...session, leaseMs: 1_000 })).toEqual([]);
    const renewed = await lease();
    expect(renewed.expires_at.getTime()).toBeGreaterThan(opened.expires_at.getTime());
    await client.send('renewal', 'm');
    const claimed = Date.now();
    const [m] = await client.receive('renewal', { ...session, leaseMs: 5_000 });
    expect((await lease()).expires_at.getTime()).toBeGreaterThan(renewed.expires_at.getTime());
    expect(m.leaseExpiresAt!.getTime()).toBeGreaterThan(claimed + 4_000);
  });
});
