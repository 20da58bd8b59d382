import { Injectable, Scope } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, OnMessage, OnTopic, type MessageContext } from '@mailroom/core';
import { HandlerExplorer } from '@mailroom/core/handlers/handler.explorer';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { sleep, until } from '../support/wait';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('push handlers', () => {
  it('never runs more than `concurrency` calls at once, and acks each', async () => {
    const seen: number[] = [];
    let running = 0;
    let peak = 0;
    @Injectable()
    class Bounded {
      @OnMessage('bounded', { concurrency: 3, prefetch: 6 })
      async handle(body: number) {
        running += 1;
        peak = Math.max(peak, running);
        await sleep(15); // the handler's work, so that calls overlap
        seen.push(body);
        running -= 1;
      }
    }
    const app = await startNestApp(db.url, [Bounded]);
    const client = app.get(MailroomClient);
    await client.sendBatch(
      'bounded',
      Array.from({ length: 40 }, (_, i) => ({ body: i })),
    );
    await until(() => seen.length === 40);
    expect(peak).toBe(3);
    await until(async () => (await client.getQueue('bounded')).stats.inFlight === 0);
    expect((await client.getQueue('bounded')).stats).toMatchObject({ available: 0, inFlight: 0 });
    await app.close();
  });

  it('redelivers a throwing handler’s message with deliveryCount 2', async () => {
    const deliveries: number[] = [];
    @Injectable()
    class Flaky {
      @OnMessage('flaky', { retry: { delayMs: 0 } })
      async handle(_body: unknown, ctx: MessageContext) {
        deliveries.push(ctx.deliveryCount);
        if (ctx.deliveryCount === 1) throw new Error('first try fails');
      }
    }
    const app = await startNestApp(db.url, [Flaky]);
    await app.get(MailroomClient).send('flaky', 'x');
    await until(() => deliveries.length === 2);
    expect(deliveries).toEqual([1, 2]);
    await app.close();
  });

  it('lets the handler settle itself through the context', async () => {
    const handled: string[] = [];
    @Injectable()
    class Manual {
      @OnMessage('self-settled')
      async handle(body: string, ctx: MessageContext) {
        handled.push(`${body}#${ctx.deliveryCount}`);
        if (ctx.deliveryCount === 1) await ctx.nack({ delayMs: 0, reason: 'not yet' });
        else await ctx.ack();
      }
    }
    const app = await startNestApp(db.url, [Manual]);
    const client = app.get(MailroomClient);
    await client.send('self-settled', 'm');
    await until(() => handled.length === 2);
    await until(async () => (await client.getQueue('self-settled')).stats.inFlight === 0);
    expect(handled).toEqual(['m#1', 'm#2']);
    expect((await client.getQueue('self-settled')).stats.available).toBe(0);
    await app.close();
  });

  it('consumes a topic subscription it declares, with its filter', async () => {
    const got: string[] = [];
    @Injectable()
    class Listener {
      @OnTopic('events', { subscription: 'listener', routingKey: 'user.*' })
      handle(body: string, ctx: MessageContext) {
        got.push(`${body}@${ctx.routingKey}`);
      }
    }
    const app = await startNestApp(db.url, [Listener]);
    const client = app.get(MailroomClient);
    await client.publish('events', 'a', { routingKey: 'user.created' });
    await client.publish('events', 'b', { routingKey: 'order.created' });
    // A marker published after b: once it is handled, b would have been delivered before it.
    await client.publish('events', 'c', { routingKey: 'user.marker' });
    await until(() => got.length === 2);
    expect(got).toEqual(['a@user.created', 'c@user.marker']);
    await app.close();
  });

  it('takes at-most-once messages off the queue before the handler runs', async () => {
    const started: string[] = [];
    @Injectable()
    class Fragile {
      @OnMessage('fragile', { ackMode: 'auto' })
      handle(body: string) {
        started.push(body);
        throw new Error('lost, by choice');
      }
    }
    const app = await startNestApp(db.url, [Fragile]);
    const client = app.get(MailroomClient);
    await client.send('fragile', 'once');
    await until(() => started.length === 1);
    // Off the queue already (no delivery, delayed or in flight, is left to retry): nothing more can come.
    expect(started).toEqual(['once']);
    expect((await client.getQueue('fragile')).stats).toMatchObject({ available: 0, inFlight: 0, delayed: 0 });
    await app.close();
  });

  it('shuts down gracefully: running calls finish, unstarted messages return without an attempt', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: number[] = [];
    @Injectable()
    class Slow {
      @OnMessage('graceful', { concurrency: 1, prefetch: 5, queueOptions: { maxDeliveries: 1 } })
      async handle(body: number) {
        started.push(body);
        await gate;
      }
    }
    const app = await startNestApp(db.url, [Slow]);
    const client = app.get(MailroomClient);
    await client.sendBatch(
      'graceful',
      [1, 2, 3, 4, 5].map((n) => ({ body: n })),
    );
    await until(() => started.length === 1);
    await until(async () => (await client.getQueue('graceful')).stats.inFlight === 5);
    const closing = app.close();
    await until(() => app.get(HandlerExplorer).stopping); // close() has begun while a call runs: the case under test
    release();
    await closing;
    // The running call was acked (not failed by the shutdown: nowhere, not even in the DLQ).
    const rows = await db.dataSource.query(
      `SELECT q.name, m.body, m.attempts FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
        WHERE q.name LIKE 'graceful%' ORDER BY m.seq`,
    );
    expect(rows).toEqual([2, 3, 4, 5].map((n) => ({ name: 'graceful', body: n, attempts: 0 })));
  });
});

describe('start-up checks', () => {
  it('refuses two handlers with one consumer name', async () => {
    @Injectable()
    class A {
      @OnMessage('dup-a', { consumer: 'same' })
      handle() {}
    }
    @Injectable()
    class B {
      @OnMessage('dup-b', { consumer: 'same' })
      handle() {}
    }
    await expect(startNestApp(db.url, [A, B])).rejects.toThrow(/both use consumer name "same"/);
  });

  it('refuses a request-scoped handler', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @OnMessage('scoped')
      handle() {}
    }
    await expect(startNestApp(db.url, [PerRequest])).rejects.toThrow(/request-scoped/);
  });

  it('refuses unknown options, naming handler and option', async () => {
    @Injectable()
    class Typo {
      @OnMessage('typo', { concurency: 2 } as never)
      handle() {}
    }
    await expect(startNestApp(db.url, [Typo])).rejects.toThrow(/Typo.handle: concurency: unknown option/);
  });
});

describe('MailroomModule.forFeature', () => {
  it('declares queues, topics and subscriptions before handlers start', async () => {
    const { Module } = await import('@nestjs/common');
    const { MailroomModule } = await import('@mailroom/core');
    @Module({
      imports: [
        MailroomModule.forFeature({
          queues: { 'feature-orders': { maxDeliveries: 3, leaseMs: 5_000 } },
          topics: { 'feature-events': { subscriptions: { audit: { routingKey: 'order.#' } } } },
        }),
      ],
    })
    class OrdersFeature {}
    const got: unknown[] = [];
    @Injectable()
    class Worker {
      @OnMessage('feature-orders', { queueOptions: { maxDeliveries: 99 } })
      handle(body: unknown) {
        got.push(body);
      }
    }
    const app = await startNestApp(db.url, [Worker], {}, [OrdersFeature]);
    const client = app.get(MailroomClient);
    expect((await client.getQueue('feature-orders')).options).toMatchObject({ maxDeliveries: 3, leaseMs: 5_000 });
    expect((await client.getTopic('feature-events')).subscriptions).toMatchObject([
      { name: 'audit', routingKey: 'order.#' },
    ]);
    await client.send('feature-orders', 'hello');
    await until(() => got.length === 1);
    await app.close();
  });
});
