import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { resolveConsumerSpec } from '@mailroom/core/handlers/handler.options';
import { PushConsumer } from '@mailroom/core/handlers/push.consumer';
import { servicesOf } from '@mailroom/core/services/mailroom.services';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { until } from '../support/wait';

/**
 * An ack that fails for good (the database away for longer than the settle retries) leaves
 * its message in the push consumer's session lease. The consumer's own claims and heartbeat
 * must stop renewing that lease, so it expires and the message comes back while the
 * consumer lives; a handler still running on that lease keeps it, and acks once.
 *
 * The fault is real Postgres refusing one ack (a DELETE) or one nack (an UPDATE) through a
 * trigger, once: the settle fails while claims, extends and the reaper work, which is the
 * case the claim-side fix (test/faults/lost-claim-reply.spec.ts) does not cover. The
 * retries are cut to one try so that the failure is final at once.
 */
let db: TestDatabase;
let client: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
  await db.dataSource.query(`
    CREATE SEQUENCE ack_faults;
    CREATE SEQUENCE stop_faults;
    CREATE FUNCTION fail_first_ack() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.body = '"victim"' THEN
        IF nextval('ack_faults') = 1 THEN RAISE EXCEPTION 'injected: the ack never reached the database'; END IF;
      ELSIF OLD.body = '"victim-at-stop"' THEN
        IF nextval('stop_faults') = 1 THEN RAISE EXCEPTION 'injected: the ack never reached the database'; END IF;
      END IF;
      RETURN OLD;
    END $$;
    CREATE TRIGGER fail_first_ack BEFORE DELETE ON mailroom_message FOR EACH ROW EXECUTE FUNCTION fail_first_ack();
    CREATE SEQUENCE nack_faults;
    CREATE FUNCTION fail_first_nack() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('nack_faults') = 1 THEN RAISE EXCEPTION 'injected: the nack never reached the database'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER fail_first_nack BEFORE UPDATE ON mailroom_message FOR EACH ROW
      WHEN (NEW.last_error = 'refused once') EXECUTE FUNCTION fail_first_nack();`);
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

const failedAcks = async (sequence = 'ack_faults') => {
  const [row] = await db.dataSource.query(`SELECT is_called, last_value FROM ${sequence}`);
  return row.is_called ? Number(row.last_value) : 0;
};

describe('an ack that failed for good', () => {
  it('comes back through the expiry of the lease it was held in, while a handler on that lease keeps it', async () => {
    const queue = 'unsettled';
    const leaseMs = 1_000;
    await client.createQueue(queue, { leaseMs });
    const deliveries: string[] = [];
    let finishSlow: () => void = () => undefined;
    const slowDone = new Promise<void>((resolve) => (finishSlow = resolve));
    const attemptsSeen: number[] = [];
    const handler = async (body: unknown, ctx: { deliveryCount: number; id: string }) => {
      deliveries.push(`${body}#${ctx.deliveryCount}`);
      if (body === 'slow') await slowDone;
      if (body === 'victim' && ctx.deliveryCount > 1) {
        const [row] = await db.dataSource.query(`SELECT attempts FROM mailroom_message WHERE id = $1`, [ctx.id]);
        attemptsSeen.push(row.attempts);
      }
    };
    const spec = resolveConsumerSpec({ concurrency: 2, prefetch: 3, leaseMs }, 'Test.unsettled', false);
    const consumer = new PushConsumer(servicesOf(client), queue, spec, handler as never, { settleAttempts: 1 });
    consumer.start(leaseMs);
    try {
      // One claim takes both into the session's lease: `slow` runs on, `victim`'s ack fails.
      await client.sendBatch(queue, [{ body: 'slow' }, { body: 'victim' }]);
      await until(() => deliveries.length === 2);
      await until(async () => (await failedAcks()) === 1);
      const [held] = await db.dataSource.query(
        `SELECT l.id, l.expires_at FROM mailroom_lease l JOIN mailroom_message m ON m.lease_id = l.id WHERE m.body = '"slow"'`,
      );
      // `slow` outlives its lease's deadline as it stood then: the heartbeat must keep extending it.
      await until(async () => {
        const [now] = await db.dataSource.query(`SELECT now() > $1::timestamptz AS past`, [held.expires_at]);
        return now.past;
      }, 30_000);
      expect(await db.dataSource.query(`SELECT 1 FROM mailroom_lease WHERE id = $1`, [held.id])).toHaveLength(1);
      finishSlow();

      await until(() => deliveries.includes('victim#2'), 30_000);
      await until(async () => (await client.getQueue(queue)).stats.inFlight === 0);
      expect(deliveries).toEqual(['slow#1', 'victim#1', 'victim#2']); // `slow` acked once, on its old lease
      expect(attemptsSeen).toEqual([1]); // the lease's expiry counted the attempt
      expect((await client.getQueue(queue)).stats).toMatchObject({ available: 0, inFlight: 0 });
    } finally {
      finishSlow();
      await consumer.stop();
    }
  });

  it('a nack likewise: the failed delivery comes back when its lease expires', async () => {
    const queue = 'unsettled-nack';
    await client.createQueue(queue, { leaseMs: 1_000 });
    const deliveries: number[] = [];
    const handler = (_body: unknown, ctx: { deliveryCount: number }) => {
      deliveries.push(ctx.deliveryCount);
      if (ctx.deliveryCount === 1) throw new Error('refused once');
    };
    const spec = resolveConsumerSpec({ concurrency: 1, prefetch: 2, leaseMs: 1_000 }, 'Test.nack', false);
    const consumer = new PushConsumer(servicesOf(client), queue, spec, handler as never, { settleAttempts: 1 });
    consumer.start(1_000);
    try {
      await client.send(queue, 'fails, and so does its nack');
      await until(async () => (await failedAcks('nack_faults')) >= 1);
      await until(() => deliveries.length === 2, 30_000);
      await until(async () => (await client.getQueue(queue)).stats.inFlight === 0);
      expect(deliveries).toEqual([1, 2]);
      expect((await client.getQueue(queue)).stats).toMatchObject({ available: 0, inFlight: 0 });
    } finally {
      await consumer.stop();
    }
  });

  it('stop() still releases what never started on a lease left to expire, without spending an attempt', async () => {
    const queue = 'unsettled-stop';
    await client.createQueue(queue, { leaseMs: 30_000 });
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    const handler = async (body: unknown) => {
      started.push(String(body));
      if (body !== 'victim-at-stop') await blocked;
    };
    const options = { concurrency: 2, prefetch: 4, shutdownTimeoutMs: 0, leaseMs: 30_000 };
    const spec = resolveConsumerSpec(options, 'Test.stop', false);
    const consumer = new PushConsumer(servicesOf(client), queue, spec, handler as never, { settleAttempts: 1 });
    consumer.start(30_000);
    try {
      // One claim, one lease: `victim-at-stop`'s ack fails, `third` takes its slot, `fourth` waits.
      await client.sendBatch(
        queue,
        ['first', 'victim-at-stop', 'third', 'fourth'].map((body) => ({ body })),
      );
      await until(async () => started.length === 3 && (await failedAcks('stop_faults')) === 1);
      await consumer.stop();
      const rows = await db.dataSource.query(
        `SELECT body, attempts, lease_id FROM mailroom_message WHERE queue_id = (SELECT id FROM mailroom_queue WHERE name = $1)`,
        [queue],
      );
      expect(rows.find((r: { body: string }) => r.body === 'fourth')).toMatchObject({ attempts: 0, lease_id: null });
      expect(rows.every((r: { lease_id: string | null }) => r.lease_id === null)).toBe(true);
    } finally {
      release();
    }
  });
});
