import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, OnMessage, type MessageContext } from '@mailroom/core';
import { resolveConsumerSpec } from '../../libs/mailroom/src/handlers/handler.options';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

/** DESIGN.md, Lease: a handler that runs past its timeout counts as a failed delivery. */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.dataSource.query(`CREATE TABLE effects (message_id uuid, note text)`);
});
afterAll(async () => {
  await db?.drop();
});

const hangForever = () => new Promise<never>(() => undefined);
const effects = (note: string): Promise<unknown[]> =>
  db.dataSource.query(`SELECT * FROM effects WHERE note = $1`, [note]);
const inboxRows = async (consumer: string): Promise<number> =>
  (await db.dataSource.query(`SELECT count(*)::int AS n FROM mailroom_inbox WHERE consumer = $1`, [consumer]))[0].n;

async function deadLetterOf(client: MailroomClient, queue: string) {
  await until(async () => (await client.countDeadLetters(queue)) === 1);
  return (await client.listDeadLetters(queue)).deadLetters[0];
}

describe('handler timeout', () => {
  it('fails a hanging call, retries it by policy then dead-letters it, and frees its slot meanwhile', async () => {
    const done: string[] = [];
    const calls: string[] = [];
    @Injectable()
    class Hangs {
      @OnMessage('hangs', { concurrency: 1, timeoutMs: 300, retry: { delayMs: 0 }, queueOptions: { maxDeliveries: 2 } })
      async handle(body: string, ctx: MessageContext) {
        calls.push(`${body}#${ctx.deliveryCount}`);
        if (body === 'hang') await hangForever();
        done.push(body);
      }
    }
    const app = await startNestApp(db.url, [Hangs]);
    const client = app.get(MailroomClient);
    await client.send('hangs', 'hang');
    await until(() => calls.length === 1);
    await client.send('hangs', 'ok');
    // Concurrency 1: the second message runs only once the hanging call gave its slot back.
    await until(() => done.includes('ok'));
    const dead = await deadLetterOf(client, 'hangs');
    expect(dead).toMatchObject({ body: 'hang', reason: 'max_deliveries', deliveryCount: 2 });
    expect(dead.error).toMatch(/^handler timed out/);
    expect(calls.filter((c) => c.startsWith('hang'))).toEqual(['hang#1', 'hang#2']);
    await until(async () => (await client.getQueue('hangs')).stats.inFlight === 0);
    await app.close();
  });

  it('ignores what a timed-out call does late: its ack does not count', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const lateAck: unknown[] = [];
    const deliveries: number[] = [];
    @Injectable()
    class Late {
      @OnMessage('late', { timeoutMs: 200, retry: { delayMs: 60_000 } })
      async handle(_body: unknown, ctx: MessageContext) {
        deliveries.push(ctx.deliveryCount);
        await released;
        await ctx.ack().then(
          () => lateAck.push('acked'),
          (error) => lateAck.push(error.constructor.name),
        );
      }
    }
    const app = await startNestApp(db.url, [Late]);
    const client = app.get(MailroomClient);
    await client.send('late', 'x');
    await until(async () => (await client.getQueue('late')).stats.delayed === 1); // nacked: back after the retry delay
    release();
    await until(() => lateAck.length === 1);
    expect(lateAck).toEqual(['LeaseLostError']);
    expect((await client.getQueue('late')).stats).toMatchObject({ delayed: 1, inFlight: 0 });
    expect(deliveries).toEqual([1]);
    await app.close();
  });

  it('rolls an exactly-once call back when it times out in a statement: no effect, no inbox row', async () => {
    @Injectable()
    class StuckInSql {
      @OnMessage('eo-stuck', {
        mode: 'exactly-once',
        consumer: 'stuck',
        timeoutMs: 300,
        queueOptions: { maxDeliveries: 1 },
      })
      async handle(_body: unknown, ctx: MessageContext) {
        await ctx.manager!.query(`INSERT INTO effects VALUES ($1, 'stuck')`, [ctx.id]);
        await ctx.manager!.query(`SELECT pg_sleep(3600)`);
      }
    }
    const app = await startNestApp(db.url, [StuckInSql]);
    const client = app.get(MailroomClient);
    await client.send('eo-stuck', 'x');
    const dead = await deadLetterOf(client, 'eo-stuck');
    expect(dead.error).toMatch(/^handler timed out/);
    expect(await effects('stuck')).toEqual([]);
    expect(await inboxRows('stuck')).toBe(0);
    // The stuck statement was cancelled: the transaction is not left open behind it.
    const sleeping = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(3600)%' AND pid <> pg_backend_pid()`;
    await until(async () => (await db.dataSource.query(sleeping))[0].n === 0);
    await app.close();
  });

  it('rolls an exactly-once call back when it hangs outside the database', async () => {
    @Injectable()
    class StuckInJs {
      @OnMessage('eo-hangs', {
        mode: 'exactly-once',
        consumer: 'hangs-in-js',
        timeoutMs: 300,
        queueOptions: { maxDeliveries: 1 },
      })
      async handle(_body: unknown, ctx: MessageContext) {
        await ctx.manager!.query(`INSERT INTO effects VALUES ($1, 'hangs-in-js')`, [ctx.id]);
        await hangForever();
      }
    }
    const app = await startNestApp(db.url, [StuckInJs]);
    const client = app.get(MailroomClient);
    await client.send('eo-hangs', 'x');
    expect((await deadLetterOf(client, 'eo-hangs')).error).toMatch(/^handler timed out/);
    expect(await effects('hangs-in-js')).toEqual([]);
    expect(await inboxRows('hangs-in-js')).toBe(0);
    await app.close();
  });

  it('validates timeoutMs at start', () => {
    expect(resolveConsumerSpec({}, 'A.handle', false).timeoutMs).toBe(60_000);
    expect(() => resolveConsumerSpec({ timeoutMs: 0 }, 'A.handle', false)).toThrow(/A\.handle: .*timeoutMs/);
    expect(() => resolveConsumerSpec({ timeoutMs: 1.5 }, 'A.handle', false)).toThrow(/timeoutMs/);
  });
});
