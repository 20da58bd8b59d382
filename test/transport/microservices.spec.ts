import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  destinationOf,
  MailroomClient,
  MailroomClientProxy,
  MailroomServer,
  RequestTimeoutError,
} from '@mailroom/core';
import { microserviceModule, ORDERS_SERVICE, seen, slowReplies } from '../fixtures/microservice.app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { until } from '../support/wait';

let db: TestDatabase;
const apps: INestApplication[] = [];

async function startInstance(name: string): Promise<INestApplication> {
  const app = await NestFactory.create(microserviceModule(db.url, name), { logger: ['error'], abortOnError: false });
  app.connectMicroservice({
    strategy: new MailroomServer({ client: app.get(MailroomClient), group: 'orders-service' }),
  });
  await app.startAllMicroservices();
  await app.init();
  apps.push(app);
  return app;
}

beforeAll(async () => {
  db = await createTestDatabase();
  await startInstance('a');
  await startInstance('b');
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await db?.drop();
});

const proxy = () => apps[0].get<ClientProxy>(ORDERS_SERVICE);

describe('Nest microservices over Mailroom', () => {
  it('answers a request through @MessagePattern', async () => {
    expect(await lastValueFrom(proxy().send('ms-sum', [1, 2, 3, 4]))).toBe(10);
  });

  it('delivers a handler’s error to the caller as the built-in transports do: the plain error object', async () => {
    const error = await lastValueFrom(proxy().send('ms-fail', {})).catch((e) => e);
    expect(error).toEqual({ status: 'error', message: 'no such account' });
  });

  it('fails a request with no reply within the timeout', async () => {
    slowReplies.length = 0;
    const error = await lastValueFrom(proxy().send('ms-slow', {})).catch((e) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error.message).toMatch(/No reply from "ms-slow" within 500 ms/);
    expect(slowReplies).toEqual([]); // the caller gave up while the handler was still working
  });

  it('spreads @EventPattern events over two competing instances, each handled once', async () => {
    seen.length = 0;
    for (let n = 0; n < 30; n += 1) await lastValueFrom(proxy().emit('ms-orders', { n }));
    await until(() => seen.length >= 30);
    const orders = seen.map((s) => (s.order as { n: number }).n).sort((a, b) => a - b);
    expect(orders).toEqual(Array.from({ length: 30 }, (_, n) => n));
    const byInstance = new Set(seen.map((s) => s.instance));
    expect(byInstance).toEqual(new Set(['a', 'b']));
  });
});

describe('Mailroom-specific transport behaviour', () => {
  const mailroom = () => apps[0].get(MailroomClient);

  it('answers at once "no matching handler" for a queue that exists but no live server serves', async () => {
    await mailroom().createQueue('ms-orphan');
    const error = await lastValueFrom(proxy().send('ms-orphan', {})).catch((e) => e);
    expect(error).toBe('There is no matching message handler defined in the remote service.');
  });

  it('sends the data itself as the body by default, the envelope in headers, so any consumer reads it', async () => {
    await mailroom().subscribe('ms-orders', 'raw-reader');
    await lastValueFrom(proxy().emit('ms-orders', { n: 'plain' }));
    const [message] = await mailroom().receive('ms-orders.raw-reader');
    expect(message.body).toEqual({ n: 'plain' });
    expect(message.headers['mailroom-pattern']).toBe('ms-orders');
    await mailroom().unsubscribe('ms-orders', 'raw-reader');
  });

  it('warns when an emitted event reached no subscription', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn');
    try {
      const result = await lastValueFrom(proxy().emit('ms-nobody-listens', { n: 1 }));
      expect(result).toMatchObject({ deliveredTo: 0 });
      expect(warn.mock.calls.some(([text]) => /reached no subscription/.test(String(text)))).toBe(true);
    } finally {
      warn.mockRestore();
    }
  });

  it('close() deletes the reply queue and leaves no .dlq; status and on() follow the proxy', async () => {
    const replyQueues = async () =>
      (await mailroom().listQueues()).map((q) => q.name).filter((name) => name.startsWith('reply.'));
    const before = await replyQueues();
    const own = new MailroomClientProxy({ client: mailroom(), timeoutMs: 5_000 });
    const events: string[] = [];
    own.on('connect', () => events.push('connect'));
    own.on('disconnect', () => events.push('disconnect'));
    expect(await lastValueFrom(own.send('ms-sum', [1, 1]))).toBe(2);
    expect(await firstValueFrom(own.status)).toBe('connected');
    expect((await replyQueues()).length).toBe(before.length + 1);
    await own.close();
    expect(await replyQueues()).toEqual(before);
    expect(await firstValueFrom(own.status)).toBe('disconnected');
    expect(events).toEqual(['connect', 'disconnect']);
  });

  it('maps an object pattern to a stable, valid queue name', () => {
    expect(destinationOf('{"cmd":"sum"}')).toMatch(/^nest\.cmd-sum\.[0-9a-f]{12}$/);
    expect(destinationOf('{"cmd":"sum"}')).toBe(destinationOf('{"cmd":"sum"}'));
    expect(destinationOf('{"cmd":"sum"}')).not.toBe(destinationOf('{"cmd":"sum2"}'));
    expect(destinationOf('ms-sum')).toBe('ms-sum');
  });
});
