import { performance } from 'node:perf_hooks';

/** The message every system carries: ~200 bytes of JSON. */
export interface BenchBody {
  /** The run's tag: a message from another run is counted as foreign, never as a delivery. */
  run: string;
  /** 0..n-1: which message this is, for the exactly-once-delivered check. */
  i: number;
  /** performance.now() when the producer called send (W4 latency), else 0. */
  sentAt: number;
  pad: string;
}

export const BODY_BYTES = 200;

/** A body whose JSON is BODY_BYTES long for a typical tag and index. */
export function makeBody(run: string, i: number, sentAt = 0): BenchBody {
  const bare = JSON.stringify({ run, i: 99_999, sentAt: 1_000_000.123, pad: '' }).length;
  return { run, i, sentAt, pad: 'x'.repeat(Math.max(0, BODY_BYTES - bare)) };
}

export function makeBodies(run: string, from: number, count: number): BenchBody[] {
  return Array.from({ length: count }, (_, k) => makeBody(run, from + k));
}

export function now(): number {
  return performance.now();
}

/** Counts deliveries per message index: the "every message once" check of every run. */
export class DeliveryTracker {
  private readonly seen: Uint16Array;
  private handledCount = 0;
  private duplicateCount = 0;
  private foreignCount = 0;
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  constructor(
    private readonly run: string,
    readonly expected: number,
  ) {
    this.seen = new Uint16Array(expected);
  }

  record(body: BenchBody): void {
    if (body?.run !== this.run || !Number.isInteger(body.i) || body.i < 0 || body.i >= this.expected) {
      this.foreignCount += 1;
      return;
    }
    if (this.seen[body.i] > 0) this.duplicateCount += 1;
    else this.handledCount += 1;
    this.seen[body.i] = Math.min(this.seen[body.i] + 1, 65_535);
    for (const w of this.waiters.splice(0)) {
      if (this.handledCount >= w.count) w.resolve();
      else this.waiters.push(w);
    }
  }

  get distinct(): number {
    return this.handledCount;
  }
  get duplicates(): number {
    return this.duplicateCount;
  }
  get foreign(): number {
    return this.foreignCount;
  }

  /** Resolves once `count` distinct messages were handled. */
  reached(count = this.expected): Promise<void> {
    if (this.handledCount >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}
