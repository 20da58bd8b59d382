/**
 * Runs the order saga on DATABASE_URL: places one order and prints where it ends. Needs a
 * TypeScript runner that resolves the `@mailroom/core` path alias (see README.md).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { MailroomClient, Workflows } from '@mailroom/core';
import { orderSagaModule } from './app.module';
import { OrderWorkflow } from './order.workflow';

async function main() {
  const app = await NestFactory.createApplicationContext(orderSagaModule(process.env.DATABASE_URL!));
  const orderId = randomUUID();
  await app.get(MailroomClient).send('orders', { orderId, sku: 'book', quantity: 1, amount: 12 });
  const workflows = app.get(Workflows);
  for (;;) {
    const order = await workflows.get(OrderWorkflow, orderId).catch(() => null);
    if (order && order.status !== 'running') {
      console.log(JSON.stringify({ state: order.state, output: (order.snapshot as { output?: unknown }).output }));
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await app.close();
}

void main();
