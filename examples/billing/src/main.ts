import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { MailroomClient } from '@mailroom/core';
import { AppModule } from './app.module';

async function main() {
  const app = await NestFactory.createApplicationContext(AppModule);
  app.enableShutdownHooks(); // SIGTERM: handlers finish, unstarted messages are released
  const mailroom = app.get(MailroomClient);
  await mailroom.send('orders', { id: 'order-1', amount: 4200 }); // charged once, receipt sent
  await mailroom.send('orders', { id: 'order-2' }); // no amount: dead-lettered to orders.dlq
}

void main();
