import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mailroomEntities, mailroomMigrations, MailroomModule } from '@mailroom/core';
import { OrderWorkflow } from './order.workflow';
import { Carrier, Inventory, PaymentService } from './services';

/** The order saga app: the workflow and the stand-in services it talks to, on one database. */
export function orderSagaModule(databaseUrl: string) {
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: databaseUrl,
        entities: mailroomEntities,
        migrations: mailroomMigrations,
        migrationsRun: true,
      }),
      MailroomModule.forRoot({}),
    ],
    providers: [OrderWorkflow, Inventory, PaymentService, Carrier],
  })
  class OrderSagaModule {}
  return OrderSagaModule;
}
