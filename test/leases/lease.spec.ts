import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError, type MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, startNodes, type TestDatabase } from '../support/database';
import { servicesOf } from '@mailroom/core/services/mailroom.services';
import { sleep } from '../support/wait';

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

describe('leases', () => {
  it('redelivers after lease expiry with deliveryCount 2, and the old receipt is refused', async () => {
    await client.createQueue('expiry');
    await client.send('expiry', 'job');
    const [first] = await client.receive('expiry', { consumer: 'slow', leaseMs: 300 });
    const [second] = await client.receive('expiry', { consumer: 'fast', waitMs: 5_000 });
    expect(second.id).toBe(first.id);
    expect(second.deliveryCount).toBe(2);
    await expect(client.ack('expiry', [first.receipt])).rejects.toBeInstanceOf(LeaseLostError);
    await expect(client.nack('expiry', [first.receipt])).rejects.toBeInstanceOf(LeaseLostError);
    await expect(client.extend('expiry', [first.receipt], 1_000)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await attempts('expiry')).toEqual({ attempts: 1, delivery_count: 2 });
    expect(await client.ack('expiry', [second.receipt])).toEqual({ acked: 1 });
  });

  it('refuses a receipt once its lease expired, even before the reaper ran', async () => {
    const slowReaper = await startClient(db.dataSource, { reaperIntervalMs: 600_000 });
    await slowReaper.createQueue('expired-unreaped');
    await slowReaper.send('expired-unreaped', 1);
    const [m] = await slowReaper.receive('expired-unreaped', { leaseMs: 100 });
    await sleep(200);
    await expect(slowReaper.ack('expired-unreaped', [m.receipt])).rejects.toBeInstanceOf(LeaseLostError);
    await slowReaper.close();
  });

  it('keeps a delivery alive while it is extended', async () => {
    await client.createQueue('extended');
    await client.send('extended', 1);
    const [m] = await client.receive('extended', { consumer: 'worker', leaseMs: 300 });
    for (let i = 0; i < 4; i += 1) {
      await sleep(150);
      const { leaseExpiresAt } = await client.extend('extended', [m.receipt], 300);
      expect(leaseExpiresAt.getTime()).toBeGreaterThan(Date.now());
    }
    expect(await client.receive('extended', { consumer: 'other' })).toEqual([]);
    expect(await client.ack('extended', [m.receipt])).toEqual({ acked: 1 });
  });

  it('changes nothing when one receipt in a batch is stale', async () => {
    await client.createQueue('partial');
    await client.sendBatch('partial', [{ body: 1 }, { body: 2 }]);
    const [a, b] = await client.receive('partial', { max: 2 });
    await client.ack('partial', [a.receipt]);
    const error = await client.ack('partial', [a.receipt, b.receipt]).catch((e) => e);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error.receipts).toEqual([a.receipt]);
    expect((await client.getQueue('partial')).stats.inFlight).toBe(1);
    expect(await client.ack('partial', [b.receipt])).toEqual({ acked: 1 });
  });

  it('nack spends an attempt and redelivers after the delay', async () => {
    await client.createQueue('nacked');
    await client.send('nacked', 1);
    const [m] = await client.receive('nacked');
    await client.nack('nacked', [m.receipt], { delayMs: 300, reason: 'boom' });
    expect(await client.receive('nacked')).toEqual([]);
    const [again] = await client.receive('nacked', { waitMs: 3_000 });
    expect(again.deliveryCount).toBe(2);
    expect(await attempts('nacked')).toEqual({ attempts: 1, delivery_count: 2 });
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

  it('names only the stale receipt when a batch holds the old and the new receipt of one message', async () => {
    await client.createQueue('old-and-new');
    await client.send('old-and-new', 1);
    const [old] = await client.receive('old-and-new', { consumer: 'a', leaseMs: 100 });
    const [current] = await client.receive('old-and-new', { consumer: 'b', waitMs: 3_000 });
    const error = await client.ack('old-and-new', [old.receipt, current.receipt]).catch((e) => e);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error.receipts).toEqual([old.receipt]);
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

  it('reaps on one node at a time', async () => {
    const nodes = await startNodes(db, 3);
    await client.createQueue('reaped');
    await client.sendBatch('reaped', [{ body: 1 }, { body: 2 }]);
    await client.receive('reaped', { consumer: 'dies', leaseMs: 100, max: 2 });
    await sleep(150);
    const counts = await Promise.all(nodes.map((n) => servicesOf(n).leases.reap()));
    expect(counts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);
    await sleep(300);
    const rows = await db.dataSource.query(
      `SELECT m.attempts FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = 'reaped'`,
    );
    expect(rows.map((r: { attempts: number }) => r.attempts)).toEqual([1, 1]);
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
    await sleep(600);
    expect(await client.receive('renewal', { ...session, leaseMs: 1_000 })).toEqual([]);
    const renewed = await lease();
    expect(renewed.expires_at.getTime()).toBeGreaterThan(opened.expires_at.getTime());
    await client.send('renewal', 'm');
    const [m] = await client.receive('renewal', { ...session, leaseMs: 5_000 });
    expect((await lease()).expires_at.getTime()).toBeGreaterThan(renewed.expires_at.getTime());
    expect(m.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 4_000);
  });
});
