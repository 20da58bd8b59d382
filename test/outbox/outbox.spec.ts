import { Controller, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, EventPattern, Payload, Transport, type ClientProxy } from '@nestjs/microservices';
import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { startWebhook } from '../support/webhook';
import { eventually, until } from '../support/wait';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('outbox to a webhook', () => {
  it('sends what the caller committed, never what it rolled back, in order per key, with a stable id', async () => {
    const hook = await startWebhook();
    const client = await startClient(db.dataSource, { outbox: { destinations: { hook: { url: hook.url } } } });
    const outbox = client.outbox('hook');
    await expect(
      db.dataSource.transaction(async (manager) => {
        await outbox.emit('order.placed', { n: 'rolled back' }, { manager, key: 'a' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const ids: string[] = [];
    await db.dataSource.transaction(async (manager) => {
      for (let n = 0; n < 10; n += 1)
        ids.push((await outbox.emit('order.placed', { n }, { manager, key: `k${n % 2}` })).id);
    });
    await until(() => hook.received.length === 10);
    expect(hook.received.map((h) => h.id).sort()).toEqual([...ids].sort());
    for (const key of ['k0', 'k1']) {
      const ns = hook.received.filter((h) => h.key === key).map((h) => (h.body as { n: number }).n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
    expect(hook.received.every((h) => h.pattern === 'order.placed')).toBe(true);
    await client.close();
    await hook.close();
  });

  it('retries a failing row with backoff, holding back its key but not other keys, then dead-letters it', async () => {
    const hook = await startWebhook((h) => ((h.body as { fail?: boolean }).fail ? 500 : 200));
    const client = await startClient(db.dataSource, {
      outbox: { destinations: { flaky: { url: hook.url } }, maxAttempts: 3, retry: { delayMs: 50, jitter: 0 } },
    });
    const outbox = client.outbox('flaky');
    await outbox.emit('e', { n: 1, fail: true }, { key: 'stuck' });
    await outbox.emit('e', { n: 2 }, { key: 'stuck' });
    await outbox.emit('e', { n: 3 }, { key: 'free' });
    await until(() => hook.received.some((h) => (h.body as { n: number }).n === 3));
    expect(hook.received.some((h) => (h.body as { n: number }).n === 2)).toBe(false);
    await until(() => hook.received.some((h) => (h.body as { n: number }).n === 2));
    // The dead-lettering commits with the batch that then delivered row 2: wait for the commit.
    const deadLetters = () => db.dataSource.query(`SELECT key, attempts, last_error FROM mailroom_outbox_dead_letter`);
    await until(async () => (await deadLetters()).length === 1);
    const [dead] = await deadLetters();
    expect(dead).toMatchObject({ key: 'stuck', attempts: 3, last_error: expect.stringContaining('500') });
    await client.close();
    await hook.close();
  });

  it('refuses an unknown destination', async () => {
    const client = await startClient(db.dataSource);
    expect(() => client.outbox('nowhere')).toThrow(/not configured/);
    await client.close();
  });
});

describe('outbox to Nest transports', () => {
  it('relays to a Nest TCP microservice, the stable id alongside the data', async () => {
    const seen: unknown[] = [];
    @Controller()
    class Receiver {
      @EventPattern('audit.tcp')
      handle(@Payload() payload: unknown) {
        seen.push(payload);
      }
    }
    const port = 40_000 + Math.floor(Math.random() * 10_000);
    const service: INestMicroservice = await NestFactory.createMicroservice(
      { module: class TcpReceiverModule {}, controllers: [Receiver] },
      { transport: Transport.TCP, options: { host: '127.0.0.1', port }, logger: ['error'] },
    );
    await service.listen();
    const proxy: ClientProxy = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
    const client = await startClient(db.dataSource, { outbox: { destinations: { audit: proxy } } });
    const { id } = await client.outbox('audit').emit('audit.tcp', { action: 'login' });
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual({ id, data: { action: 'login' } });
    await client.close();
    proxy.close();
    await service.close();
  });

  const rabbit = 'amqp://guest:guest@127.0.0.1:5672';
  const reachable = connect(rabbit).then(
    async (c) => (await c.close(), true),
    () => false,
  );

  it('relays to RabbitMQ with the message id as messageId and header (skipped when RabbitMQ is not reachable)', async (ctx) => {
    if (!(await reachable)) {
      console.warn('RabbitMQ is not reachable at 127.0.0.1:5672: skipping the RabbitMQ outbox test');
      ctx.skip();
    }
    const queue = `mailroom-outbox-${Date.now()}`;
    const proxy = ClientProxyFactory.create({
      transport: Transport.RMQ,
      options: { urls: [rabbit], queue, queueOptions: { durable: false } },
    });
    const client = await startClient(db.dataSource, { outbox: { destinations: { rabbit: proxy } } });
    const { id } = await client.outbox('rabbit').emit('billing.charged', { amount: 5 });
    const connection = await connect(rabbit);
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: false });
    const got = await eventually(
      () => channel.get(queue, { noAck: true }),
      (message) => Boolean(message),
    );
    expect(got).toBeTruthy();
    const msg = got as Exclude<typeof got, false>;
    expect(msg.properties.messageId).toBe(id);
    expect(msg.properties.headers?.['mailroom-message-id']).toBe(id);
    expect(JSON.parse(msg.content.toString())).toMatchObject({ pattern: 'billing.charged', data: { amount: 5 } });
    await channel.deleteQueue(queue);
    await connection.close();
    await client.close();
    await proxy.close();
  });
});
