import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, Workflows, WorkflowTestKit } from '@mailroom/core';
import { orderSagaModule } from '../../examples/order-saga/app.module';
import { OrderWorkflow } from '../../examples/order-saga/order.workflow';
import { Inventory, PaymentService } from '../../examples/order-saga/services';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { until } from '../support/wait';

let db: TestDatabase;
let app: INestApplicationContext;
let kit: WorkflowTestKit;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await NestFactory.createApplicationContext(orderSagaModule(db.url), { logger: ['error', 'warn'] });
  kit = new WorkflowTestKit(app.get(Workflows));
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

async function place(sku: string, quantity = 1): Promise<string> {
  const orderId = randomUUID();
  await app.get(MailroomClient).send('orders', { orderId, sku, quantity, amount: 12 });
  return orderId;
}

const finished = (orderId: string) => kit.waitFor(OrderWorkflow, orderId, (order) => order.status !== 'running');

describe('examples/order-saga', () => {
  it('pays, reserves stock and ships an order', async () => {
    const orderId = await place('book', 2);
    await until(() =>
      kit.get(OrderWorkflow, orderId).then(
        () => true,
        () => false,
      ),
    );
    const order = await finished(orderId);
    expect(order).toMatchObject({ status: 'done', state: 'completed' });
    expect(order.snapshot).toMatchObject({ output: { orderId, status: 'completed', reason: null } });
    expect(app.get(Inventory).stock.get('book')).toBe(8);
  });

  it('refunds the payment when the stock reservation fails', async () => {
    const orderId = await place('lamp');
    await until(() =>
      kit.get(OrderWorkflow, orderId).then(
        () => true,
        () => false,
      ),
    );
    const order = await finished(orderId);
    expect(order.snapshot).toMatchObject({ output: { status: 'cancelled', reason: 'lamp is out of stock' } });
    await until(() => app.get(PaymentService).refunds.includes(orderId));
  });

  it('compensates when shipping times out: releases the stock and refunds', async () => {
    const orderId = await place('piano');
    await until(() =>
      kit.get(OrderWorkflow, orderId).then(
        (o) => o.state === 'shipping',
        () => false,
      ),
    );
    expect(app.get(Inventory).stock.get('piano')).toBe(0);
    expect(await kit.advance(OrderWorkflow, orderId, 2 * 86_400_000)).toBe(1);
    const order = await kit.get(OrderWorkflow, orderId);
    expect(order.snapshot).toMatchObject({ output: { status: 'cancelled', reason: 'not shipped in time' } });
    await until(() => app.get(PaymentService).refunds.includes(orderId));
    await until(() => app.get(Inventory).stock.get('piano') === 1);
  });
});
