import type { DataSource } from 'typeorm';

// The port the delivery behaviour suite drives: one adapter per front (library client, REST broker).
export interface Delivery<T = unknown> {
  id: string;
  sequence: number;
  body: T;
  groupKey: string | null;
  deliveryCount: number;
  receipt: string;
  leaseExpiresAt: Date;
}

export interface ReceiveOptions {
  consumer?: string;
  max?: number;
  waitMs?: number;
  leaseMs?: number;
  ack?: string[];
}

export interface NackOptions {
  delayMs?: number;
  reason?: string;
  deadLetter?: boolean;
}

export interface Stats {
  available: number;
  inFlight: number;
  delayed: number;
  exhausted: number;
}

/** What a settlement naming receipts that no longer hold a lease fails with, on every front. */
export class StaleReceipts extends Error {
  constructor(readonly receipts: string[]) {
    super(`stale receipts: ${receipts.join(', ')}`);
  }
}

/** One front (the library client, the REST broker…) as the suite drives it. */
export interface DeliveryAdapter {
  /** The front's database, for what only the rows show (attempts, lease rows). */
  db: DataSource;
  createQueue(name: string, options?: object): Promise<void>;
  sendBatch(queue: string, messages: { body: unknown; groupKey?: string }[]): Promise<void>;
  receive<T = unknown>(queue: string, options?: ReceiveOptions): Promise<Delivery<T>[]>;
  /** Each of these rejects with `StaleReceipts` when a receipt lost its lease. */
  ack(queue: string, receipts: string[]): Promise<number>;
  nack(queue: string, receipts: string[], options?: NackOptions): Promise<number>;
  extend(queue: string, receipts: string[], leaseMs: number): Promise<Date>;
  /** Gives a consumer's deliveries back at once (only where `features.release`). */
  release?(queue: string, consumer: string): Promise<void>;
  stats(queue: string): Promise<Stats>;
  close(): Promise<void>;
}

/** What a front offers beyond the common core; a scenario that needs more runs only where it is declared. */
export interface Features {
  /** The front can end a consumer's leases on request (`release`). */
  release?: boolean;
}
