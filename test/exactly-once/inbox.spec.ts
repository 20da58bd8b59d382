import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, OnMessage, type MessageContext } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { sleep, until } from '../support/wait';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.dataSource.query(`CREATE TABLE ledger (message_id uuid, note text)`);
});
afterAll(async () => {
  await db?.drop();
});

const ledger = (): Promise<{ message_id: string; note: string }[]> =>
  db.dataSource.query(`SELECT message_id, note FROM ledger ORDER BY note`);

/** Nothing available, in flight or delayed: every delivery was settled, so no handler call is still to come. */
async function settled(client: MailroomClient, queue: string): Promise<boolean> {
  const { stats } = await client.getQueue(queue);
  return stats.available + stats.inFlight + stats.delayed === 0;
}

describe('exactly-once handlers', () => {
  it('commits the handler’s writes, its sends and the ack together; a failure undoes all of them', async () => {
    let calls = 0;
    @Injectable()
    class Billing {
      constructor(private readonly mailroom: MailroomClient) {}

      @OnMessage('eo-orders', { mode: 'exactly-once', consumer: 'billing', retry: { delayMs: 0 } })
      async charge(order: { n: number }, ctx: MessageContext) {
        calls += 1;
        await ctx.manager!.query(`INSERT INTO ledger VALUES ($1, $2)`, [ctx.id, `charge ${order.n}`]);
        await this.mailroom.send('eo-receipts', { n: order.n }, { manager: ctx.manager });
        if (ctx.deliveryCount === 1) throw new Error('crash after writing');
      }
    }
    const app = await startNestApp(db.url, [Billing], { reaperIntervalMs: 100 });
    const client = app.get(MailroomClient);
    await client.createQueue('eo-receipts');
    const { id } = await client.send('eo-orders', { n: 1 });
    await until(async () => (await ledger()).length === 1);
    // Settled: acked, nothing left to deliver, so no further call can come.
    await until(async () => settled(client, 'eo-orders'));
    expect(calls).toBe(2);
    expect(await ledger()).toEqual([{ message_id: id, note: 'charge 1' }]);
    expect((await client.getQueue('eo-receipts')).stats.available).toBe(1);
    expect((await client.getQueue('eo-orders')).stats).toMatchObject({ available: 0, inFlight: 0, delayed: 0 });
    await app.close();
  });

  it('recognises a message it already processed (the same id sent again) and only acks it', async () => {
    let calls = 0;
    @Injectable()
    class Once {
      @OnMessage('eo-dupes', { mode: 'exactly-once', consumer: 'once', queueOptions: { dedupWindowMs: 0 } })
      async handle(_body: unknown, ctx: MessageContext) {
        calls += 1;
        await ctx.manager!.query(`INSERT INTO ledger VALUES ($1, 'once')`, [ctx.id]);
      }
    }
    const app = await startNestApp(db.url, [Once]);
    const client = app.get(MailroomClient);
    const id = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
    await client.send('eo-dupes', 'first', { id });
    await until(async () => calls === 1);
    await client.send('eo-dupes', 'again, outside the dedup window', { id });
    await until(async () => settled(client, 'eo-dupes'));
    expect(calls).toBe(1);
    expect((await ledger()).filter((r) => r.note === 'once')).toHaveLength(1);
    await app.close();
  });

  it('rolls back and retries when the handler asks for a nack', async () => {
    let calls = 0;
    @Injectable()
    class Picky {
      @OnMessage('eo-nack', { mode: 'exactly-once', consumer: 'picky' })
      async handle(_body: unknown, ctx: MessageContext) {
        calls += 1;
        await ctx.manager!.query(`INSERT INTO ledger VALUES ($1, 'picky ' || $2)`, [ctx.id, String(calls)]);
        if (calls === 1) await ctx.nack({ delayMs: 0 });
      }
    }
    const app = await startNestApp(db.url, [Picky]);
    await app.get(MailroomClient).send('eo-nack', 'x');
    await until(async () => calls === 2);
    await until(async () => settled(app.get(MailroomClient), 'eo-nack'));
    expect((await ledger()).filter((r) => r.note.startsWith('picky')).map((r) => r.note)).toEqual(['picky 2']);
    await app.close();
  });
});

describe('exactly-once transaction batches', () => {
  it('commits several messages per transaction, and a bad one costs its neighbours a retry, never an effect', async () => {
    const calls = new Map<number, number>();
    @Injectable()
    class Batched {
      @OnMessage('eo-batch', {
        mode: 'exactly-once',
        consumer: 'batched',
        transactionBatch: 5,
        retry: { delayMs: 0 },
        queueOptions: { maxDeliveries: 2 },
      })
      async handle(body: { n: number }, ctx: MessageContext) {
        calls.set(body.n, (calls.get(body.n) ?? 0) + 1);
        await ctx.manager!.query(`INSERT INTO ledger VALUES ($1, 'batch ' || $2)`, [ctx.id, String(body.n)]);
        if (body.n === 3) throw new Error('poison');
      }
    }
    const app = await startNestApp(db.url, [Batched]);
    const client = app.get(MailroomClient);
    await client.pauseQueue('eo-batch');
    await client.sendBatch(
      'eo-batch',
      Array.from({ length: 10 }, (_, n) => ({ body: { n } })),
    );
    await client.resumeQueue('eo-batch');
    await until(async () => (await client.countDeadLetters('eo-batch')) === 1);
    // Done when nothing is in flight nor still to claim (the last message may wait for a free slot).
    await until(async () => {
      const { stats } = await client.getQueue('eo-batch');
      return stats.inFlight === 0 && stats.available === 0;
    });
    const notes = (await ledger()).filter((r) => r.note.startsWith('batch ')).map((r) => r.note);
    expect(notes.sort()).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9].map((n) => `batch ${n}`).sort());
    expect([...calls.values()].some((count) => count > 1)).toBe(true); // neighbours of the poison ran again
    await app.close();
  });
});

describe('exactly-once at default options', () => {
  it('lets waiting messages share transactions (a backlog of 20, fewer than 20 commits), each effect once', async () => {
    const transactions = new Set<string>();
    @Injectable()
    class Defaults {
      @OnMessage('eo-defaults', { mode: 'exactly-once', consumer: 'defaults' })
      async handle(body: { n: number }, ctx: MessageContext) {
        const [{ txid }] = await ctx.manager!.query(`SELECT txid_current()::text AS txid`);
        transactions.add(txid);
        await ctx.manager!.query(`INSERT INTO ledger VALUES ($1, 'default ' || $2)`, [ctx.id, String(body.n)]);
      }
    }
    const app = await startNestApp(db.url, [Defaults]);
    const client = app.get(MailroomClient);
    await client.pauseQueue('eo-defaults');
    await client.sendBatch(
      'eo-defaults',
      Array.from({ length: 20 }, (_, n) => ({ body: { n } })),
    );
    await client.resumeQueue('eo-defaults');
    await until(async () => settled(client, 'eo-defaults'));
    const notes = (await ledger()).filter((r) => r.note.startsWith('default ')).map((r) => r.note);
    expect(notes.sort()).toEqual(Array.from({ length: 20 }, (_, n) => `default ${n}`).sort());
    expect(transactions.size).toBeLessThan(20);
    await app.close();
  });
});

describe('inbox clean-up', () => {
  it('deletes rows older than the retention window and never one inside it', async () => {
    const hour = 3_600_000;
    await db.dataSource.query(
      `INSERT INTO mailroom_inbox (consumer, message_id, processed_at) VALUES
         ('c', 'inside-just', now() - interval '1 hour' + interval '1 minute'),
         ('c', 'inside-fresh', now()),
         ('c', 'outside', now() - interval '1 hour' - interval '1 minute')`,
    );
    const client = await startClient(db.dataSource, { inboxRetentionMs: hour, janitorIntervalMs: 100 });
    await until(
      async () => (await db.dataSource.query(`SELECT 1 FROM mailroom_inbox WHERE message_id = 'outside'`)).length === 0,
    );
    await client.close();
    const rows: { message_id: string }[] = await db.dataSource.query(
      `SELECT message_id FROM mailroom_inbox WHERE consumer = 'c' ORDER BY message_id`,
    );
    expect(rows.map((r) => r.message_id)).toEqual(['inside-fresh', 'inside-just']);
  });
  it('holds at most `prefetch` messages when each transaction takes a batch of them', async () => {
    @Injectable()
    class Slow {
      @OnMessage('eo-prefetch', {
        mode: 'exactly-once',
        consumer: 'slow',
        concurrency: 2,
        transactionBatch: 5,
        prefetch: 10,
      })
      async handle() {
        await sleep(10); // the handler's work, so that batches overlap
      }
    }
    const app = await startNestApp(db.url, [Slow]);
    const client = app.get(MailroomClient);
    await client.sendBatch(
      'eo-prefetch',
      Array.from({ length: 60 }, (_, n) => ({ body: n })),
    );
    let peak = 0;
    for (;;) {
      const { stats } = await client.getQueue('eo-prefetch');
      peak = Math.max(peak, stats.inFlight);
      if (stats.available + stats.inFlight === 0) break;
      await sleep(5); // the sampling interval of the peak, not synchronisation
    }
    expect(peak).toBeGreaterThan(5);
    expect(peak).toBeLessThanOrEqual(10);
    await app.close();
  });
});
