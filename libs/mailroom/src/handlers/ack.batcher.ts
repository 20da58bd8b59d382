import { LeaseLostError } from '../errors/mailroom.errors';

export type AckMany = (receipts: string[]) => Promise<unknown>;

/** Pending acks taken by the consumer, to ack in its next claim's statement (see AckBatcher.collector). */
export interface CarriedAcks {
  count: number;
  /** Acks the batch through `ackMany`; stale receipts are rejected and the rest acked on their own. */
  ackWith(ackMany: AckMany): Promise<void>;
}

interface Pending {
  receipt: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces the acks of handlers that finish close together into one statement (one
 * round trip, one commit). Because a batch is all or nothing, a stale receipt would sink
 * its neighbours: on LeaseLostError the stale ones are rejected and the rest acked again.
 */
export class AckBatcher {
  private queued: Pending[] = [];
  private queuedSince = 0;
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;
  /** Acks asked for and not yet answered. */
  outstanding = 0;
  /**
   * Set while the consumer will collect pending acks itself (with take()) and ack them in
   * its next claim's statement: it is claiming, or waiting for room that only acks free.
   * flush() then only calls it, to wake a waiting consumer, and sends nothing.
   */
  collector: (() => void) | null = null;

  /** Acks asked for and not yet sent. */
  get pending(): number {
    return this.queued.length;
  }

  /** How long the oldest ack not yet sent has waited (ms; 0 if none). */
  pendingForMs(): number {
    return this.queued.length > 0 ? Date.now() - this.queuedSince : 0;
  }

  constructor(
    private readonly ackMany: AckMany,
    /** Told whenever an ack is answered (the consumer may claim again). */
    private readonly onAnswered: () => void = () => undefined,
    private readonly maxBatch = 100,
  ) {}

  ack(receipt: string): Promise<void> {
    this.outstanding += 1;
    const answered = new Promise<void>((resolve, reject) => {
      if (this.queued.length === 0) this.queuedSince = Date.now();
      this.queued.push({ receipt, resolve, reject });
      if (this.queued.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
    return answered.finally(() => {
      this.outstanding -= 1;
      this.onAnswered();
    });
  }

  /** Sends what is pending (or hands it to the collector); resolves when every ack sent so far is answered. */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.collector) {
      if (this.queued.length > 0) this.collector();
      return this.flushing;
    }
    const batch = this.queued;
    this.queued = [];
    if (batch.length > 0) this.flushing = this.flushing.then(() => this.send(batch));
    return this.flushing;
  }

  /** Takes up to `max` pending acks for the consumer to ack itself; null if none are pending. */
  take(max: number): CarriedAcks | null {
    if (this.queued.length === 0) return null;
    const batch = this.queued.splice(0, max);
    return { count: batch.length, ackWith: (via) => this.send(batch, via) };
  }

  private async send(batch: Pending[], ackMany = this.ackMany): Promise<void> {
    try {
      await ackMany(batch.map((p) => p.receipt));
      batch.forEach((p) => p.resolve());
    } catch (error) {
      if (!(error instanceof LeaseLostError) || batch.length === 1) return batch.forEach((p) => p.reject(error));
      const stale = new Set(error.receipts);
      batch.filter((p) => stale.has(p.receipt)).forEach((p) => p.reject(new LeaseLostError([p.receipt])));
      const live = batch.filter((p) => !stale.has(p.receipt));
      if (live.length > 0) await this.send(live);
    }
  }
}
