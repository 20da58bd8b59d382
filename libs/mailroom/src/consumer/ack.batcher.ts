import { LeaseLostError } from '../errors/mailroom.errors';

type AckMany = (receipts: string[]) => Promise<unknown>;

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
  private pending: Pending[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;
  /** Acks asked for and not yet answered. */
  outstanding = 0;

  constructor(
    private readonly ackMany: AckMany,
    /** Told whenever an ack is answered (the consumer may claim again). */
    private readonly onAnswered: () => void = () => undefined,
    private readonly maxBatch = 100,
  ) {}

  ack(receipt: string): Promise<void> {
    this.outstanding += 1;
    const answered = new Promise<void>((resolve, reject) => {
      this.pending.push({ receipt, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
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

  /** Sends what is pending; resolves when every ack so far has been answered. */
  flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) this.flushing = this.flushing.then(() => this.send(batch));
    return this.flushing;
  }

  private async send(batch: Pending[]): Promise<void> {
    try {
      await this.ackMany(batch.map((p) => p.receipt));
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
