import { Injectable } from '@nestjs/common';
import { MailroomClient, OnMessage } from '@mailroom/core';

/** A stand-in stock system: reservations are idempotent by key. */
@Injectable()
export class Inventory {
  readonly stock = new Map<string, number>([
    ['book', 10],
    ['lamp', 0],
    ['piano', 1],
  ]);
  readonly reservations = new Map<string, { sku: string; quantity: number }>();

  reserve(key: string, sku: string, quantity: number): string | null {
    if (this.reservations.has(key)) return key;
    const available = this.stock.get(sku) ?? 0;
    if (available < quantity) return null;
    this.stock.set(sku, available - quantity);
    this.reservations.set(key, { sku, quantity });
    return key;
  }

  @OnMessage('stock.releases', { consumer: 'inventory.releases' })
  release({ reservation }: { reservation: string }) {
    const held = this.reservations.get(reservation);
    if (!held) return;
    this.reservations.delete(reservation);
    this.stock.set(held.sku, (this.stock.get(held.sku) ?? 0) + held.quantity);
  }
}

/** A stand-in payment service: captures every payment and replies on `payments.captured`. */
@Injectable()
export class PaymentService {
  readonly refunds: string[] = [];

  constructor(private readonly mailroom: MailroomClient) {}

  @OnMessage('payments', { consumer: 'payments.capture' })
  async capture({ orderId }: { orderId: string }) {
    await this.mailroom.send('payments.captured', { type: 'PaymentCaptured', orderId, paymentId: `pay-${orderId}` });
  }

  @OnMessage('refunds', { consumer: 'payments.refund' })
  refund({ orderId }: { orderId: string }) {
    this.refunds.push(orderId);
  }
}

/** A stand-in carrier: ships anything but pianos, which never leave the warehouse. */
@Injectable()
export class Carrier {
  constructor(private readonly mailroom: MailroomClient) {}

  @OnMessage('shipping', { consumer: 'carrier' })
  async ship({ orderId, sku }: { orderId: string; sku: string }) {
    if (sku === 'piano') return;
    await this.mailroom.send('shipments', { orderId, tracking: `trk-${orderId}` });
  }
}
