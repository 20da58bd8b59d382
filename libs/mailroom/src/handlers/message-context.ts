import type { EntityManager } from 'typeorm';
import type { Headers } from '../message/message';

/** What a handler knows of the delivery it is handling, and how it settles it itself. */
export interface MessageContext {
  readonly queue: string;
  readonly id: string;
  readonly sequence: number;
  readonly headers: Headers;
  readonly groupKey: string | null;
  readonly routingKey: string | null;
  /** Claims so far, this one included: 2 or more means a redelivery. */
  readonly deliveryCount: number;
  /** The fencing token for this delivery (empty at-most-once, where nothing is left to settle). */
  readonly receipt: string;
  /** In exactly-once handlers, the transaction the handler's writes must join. */
  readonly manager?: EntityManager;
  /** Settle now instead of when the handler returns. */
  ack(): Promise<void>;
  /** Fail this delivery: it is offered again after `delayMs` (default: the retry policy), or dead-lettered. */
  nack(options?: { delayMs?: number; reason?: string; deadLetter?: boolean }): Promise<void>;
  /** Hold the lease at least `ms` longer (leases are also extended automatically while a handler runs). */
  extend(ms: number): Promise<void>;
}
