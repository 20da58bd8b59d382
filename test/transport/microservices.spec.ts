import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RpcException, type ClientProxy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, MailroomServer } from '@mailroom/core';
import { microserviceModule, ORDERS_SERVICE, seen } from '../fixtures/microservice.app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { sleep } from '../support/wait';

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

  it('delivers a handler’s error to the caller as an RpcException', async () => {
    const error = await lastValueFrom(proxy().send('ms-fail', {})).catch((e) => e);
    expect(error).toBeInstanceOf(RpcException);
    expect(JSON.stringify(error.getError())).toContain('no such account');
  });

  it('fails a request with no reply within the timeout', async () => {
    const started = Date.now();
    const error = await lastValueFrom(proxy().send('ms-slow', {})).catch((e) => e);
    expect(error).toBeInstanceOf(RpcException);
    expect(String(error.getError())).toMatch(/No reply from "ms-slow" within 500 ms/);
    expect(Date.now() - started).toBeLessThan(1_400);
  });

  it('spreads @EventPattern events over two competing instances, each handled once', async () => {
    seen.length = 0;
    for (let n = 0; n < 30; n += 1) await lastValueFrom(proxy().emit('ms-orders', { n }));
    for (let i = 0; i < 200 && seen.length < 30; i += 1) await sleep(50);
    const orders = seen.map((s) => (s.order as { n: number }).n).sort((a, b) => a - b);
    expect(orders).toEqual(Array.from({ length: 30 }, (_, n) => n));
    const byInstance = new Set(seen.map((s) => s.instance));
    expect(byInstance).toEqual(new Set(['a', 'b']));
  });
});
