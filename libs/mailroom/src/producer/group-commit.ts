interface Entry<T, R> {
  items: T[];
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

interface Lane<T, R> {
  pending: Entry<T, R>[];
  inFlight: number;
}

/**
 * Group commit: concurrent writes to one key (a queue) that arrive while `maxInFlight`
 * statements are already running wait, and then go together as one statement and one
 * commit. A lone write goes at once, so a single producer pays no latency for it; fifty
 * concurrent producers share commits (and their fsyncs) instead of queueing for them.
 * Each caller is answered only after the statement carrying its items committed.
 */
export class GroupCommit<T, R> {
  private readonly lanes = new Map<string, Lane<T, R>>();

  constructor(
    private readonly write: (key: string, items: T[]) => Promise<R[]>,
    private readonly retryAlone: (error: unknown) => boolean,
    private readonly maxInFlight = 2,
    private readonly maxItems = 1_000,
  ) {}

  submit(key: string, items: T[]): Promise<R[]> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { pending: [], inFlight: 0 };
      this.lanes.set(key, lane);
    }
    const promise = new Promise<R[]>((resolve, reject) => lane.pending.push({ items, resolve, reject }));
    this.drain(key, lane);
    return promise;
  }

  private drain(key: string, lane: Lane<T, R>): void {
    while (lane.inFlight < this.maxInFlight && lane.pending.length > 0) {
      const batch = this.take(lane);
      lane.inFlight += 1;
      this.writeBatch(key, batch).finally(() => {
        lane.inFlight -= 1;
        if (lane.inFlight === 0 && lane.pending.length === 0) this.lanes.delete(key);
        else this.drain(key, lane);
      });
    }
  }

  /**
   * Writes the batch as one statement. Members are checked before they join, but a
   * combined statement can still fail for one member's sake (a value only the database
   * refuses): when `retryAlone` says the failure left nothing behind and may be one
   * member's fault, each member is written on its own, so only the ones that fail alone
   * fail. Any other failure fails them all: after a lost connection the statement may
   * have committed (writing again could store twice), and after a timeout writing again
   * would only make every member wait twice.
   */
  private async writeBatch(key: string, batch: Entry<T, R>[]): Promise<void> {
    try {
      const results = await this.write(
        key,
        batch.flatMap((entry) => entry.items),
      );
      let offset = 0;
      for (const entry of batch) {
        entry.resolve(results.slice(offset, offset + entry.items.length));
        offset += entry.items.length;
      }
    } catch (error) {
      if (batch.length === 1 || !this.retryAlone(error)) return batch.forEach((entry) => entry.reject(error));
      await Promise.all(batch.map((entry) => this.write(key, entry.items).then(entry.resolve, entry.reject)));
    }
  }

  /** Whole entries, oldest first, up to maxItems (a single larger entry goes alone). */
  private take(lane: Lane<T, R>): Entry<T, R>[] {
    const batch: Entry<T, R>[] = [];
    let count = 0;
    while (lane.pending.length > 0 && (batch.length === 0 || count + lane.pending[0].items.length <= this.maxItems)) {
      const entry = lane.pending.shift()!;
      batch.push(entry);
      count += entry.items.length;
    }
    return batch;
  }
}
