import type { ReceivedMessage } from '../message/message';
import type { ConsumerSessions, ReceiveRequest } from './consumer.sessions';
import type { DeliveryPort } from './delivery.port';
import type { NackOptions, SettleOptions, Settlement } from './settlement';

/** The delivery port over the node's pull sessions (claims, leases) and the fenced settlement. */
export class Delivery implements DeliveryPort {
  constructor(
    private readonly sessions: ConsumerSessions,
    private readonly settlement: Settlement,
  ) {}

  claim(queue: string, request: ReceiveRequest, take: boolean): Promise<ReceivedMessage[]> {
    return this.sessions.receive(queue, request, take);
  }
  ack(queue: string, receipts: string[], options?: SettleOptions): Promise<{ acked: number }> {
    return this.settlement.ack(queue, receipts, options);
  }
  nack(queue: string, receipts: string[], options?: NackOptions): Promise<{ nacked: number }> {
    return this.settlement.nack(queue, receipts, options);
  }
  extend(
    queue: string,
    receipts: string[],
    leaseMs: number,
    options?: SettleOptions,
  ): Promise<{ leaseExpiresAt: Date }> {
    return this.settlement.extend(queue, receipts, leaseMs, options);
  }
  release(queue: string, consumer?: string, session?: string): Promise<void> {
    return this.sessions.release(queue, consumer, session);
  }
  retireLease(queue: string, consumer: string, session: string): void {
    this.sessions.retireLease(queue, consumer, session);
  }
}
