import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MailroomModule, mailroomEntities, mailroomMigrations } from '@mailroom/core';
import { Billing, Charge, CreateCharge1750000000000 } from './billing';

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [...mailroomEntities, Charge],
      migrations: [...mailroomMigrations, CreateCharge1750000000000],
      migrationsRun: true,
    }),
    MailroomModule.forRoot({}), // or forRootAsync({ useFactory, inject })
    // Created (or updated) at start, before any handler runs.
    MailroomModule.forFeature({ queues: { orders: { maxDeliveries: 5 }, receipts: {} } }),
  ],
  providers: [Billing],
})
export class AppModule {}
