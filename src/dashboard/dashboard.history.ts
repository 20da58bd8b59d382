import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { observe } from '@mailroom/core';

/** One sample per queue: depth when a page read it, and sends and acks since the previous sample. */
interface Sample {
  at: number;
  depth: number;
  sent: number;
  acked: number;
}

const KEEP_MS = 10 * 60_000;
const BUCKET_MS = 10_000;

/**
 * The last minutes of each queue, in memory on this node, for the dashboard's sparklines:
 * sends and acks counted as they happen here (this node's share), depth as pages read it.
 * Nothing polls the database for it: a dashboard nobody looks at costs nothing.
 */
@Injectable()
export class DashboardHistory implements OnModuleDestroy {
  private readonly samples = new Map<string, Sample[]>();
  private readonly detach = observe({
    sent: (queue, stored) => (this.bucket(queue).sent += stored),
    acked: (queue, count) => (this.bucket(queue).acked += count),
  });

  onModuleDestroy(): void {
    this.detach();
  }

  recordDepth(queue: string, depth: number): void {
    this.bucket(queue).depth = depth;
  }

  /** Oldest first: depth, sends per bucket and acks per bucket. */
  series(queue: string): { depth: number[]; sent: number[]; acked: number[] } {
    const samples = this.samples.get(queue) ?? [];
    return {
      depth: samples.map((s) => s.depth),
      sent: samples.map((s) => s.sent),
      acked: samples.map((s) => s.acked),
    };
  }

  private bucket(queue: string): Sample {
    const now = Date.now();
    const list = this.samples.get(queue) ?? [];
    this.samples.set(queue, list);
    const last = list.at(-1);
    if (last && now - last.at < BUCKET_MS) return last;
    const next = { at: now, depth: last?.depth ?? 0, sent: 0, acked: 0 };
    list.push(next);
    while (list.length && now - list[0].at > KEEP_MS) list.shift();
    return next;
  }
}
