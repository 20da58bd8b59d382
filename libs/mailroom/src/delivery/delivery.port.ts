import type { ReceivedMessage } from '../message/message';
import type { ReceiveRequest } from './consumer.sessions';
import type { NackOptions, SettleOptions } from './settlement';

/**
 * The six things a consumer does with deliveries, and all that the push consumer, the
 * handler runner, the transport and workflows depend on (the REST broker and the public
 * client go through the same implementation). Every settlement is fenced by its receipts.
 */
export interface DeliveryPort {
  /** Claims up to `max` messages under a lease (`take`: at-most-once, deleted on claim). */
  claim(queue: string, request: ReceiveRequest, take: boolean): Promise<ReceivedMessage[]>;
  ack(queue: string, receipts: string[], options?: SettleOptions): Promise<{ acked: number }>;
  nack(queue: string, receipts: string[], options?: NackOptions): Promise<{ nacked: number }>;
  extend(
    queue: string,
    receipts: string[],
    leaseMs: number,
    options?: SettleOptions,
  ): Promise<{ leaseExpiresAt: Date }>;
  /** Ends a consumer's session: its leases return their messages without spending an attempt. */
  release(queue: string, consumer?: string, session?: string): Promise<void>;
  /**
   * A session's claims stop renewing the lease they renewed so far and open a new one: the
   * old one expires once nothing extends it, and what nobody settled in it comes back.
   */
  retireLease(queue: string, consumer: string, session: string): void;
}
