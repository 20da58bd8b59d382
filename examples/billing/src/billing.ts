import { Injectable } from '@nestjs/common';
import { Column, Entity, PrimaryColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { MailroomClient, NonRetryableError, OnMessage, type MessageContext } from '@mailroom/core';

export interface OrderPlaced {
  id: string;
  amount?: number;
}

export interface Receipt {
  orderId: string;
}

// Typed payloads: send(), publish() and handlers agree on each queue's body.
declare module '@mailroom/core' {
  interface MailroomQueues {
    orders: OrderPlaced;
    receipts: Receipt;
  }
}

@Entity('charge')
export class Charge {
  @PrimaryColumn({ name: 'order_id', type: 'text' })
  orderId: string;

  @Column({ type: 'integer' })
  amount: number;
}

// Your own migration, run after Mailroom's (TypeORM orders them by their timestamp).
export class CreateCharge1750000000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE charge (order_id text PRIMARY KEY, amount integer NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE charge`);
  }
}

@Injectable()
export class Billing {
  constructor(private readonly mailroom: MailroomClient) {}

  // Exactly-once: the inbox row, these writes, the receipt send and the ack commit together.
  @OnMessage('orders', { consumer: 'billing', mode: 'exactly-once', concurrency: 8 })
  async charge(order: OrderPlaced, ctx: MessageContext) {
    if (!order.amount) throw new NonRetryableError('order without amount'); // straight to the DLQ
    await ctx.manager!.insert(Charge, { orderId: order.id, amount: order.amount });
    await this.mailroom.send('receipts', { orderId: order.id }, { manager: ctx.manager });
  }
}
