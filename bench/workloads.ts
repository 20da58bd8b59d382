import { readFileSync } from 'node:fs';
import { DeliveryTracker, makeBodies, makeBody, now } from './lib/body';
import { cpuPerMessage, machineBusySeconds } from './lib/cpu';
import { checkpoint } from './lib/pg';
import { lanes, percentile, sleep, until, within } from './lib/timing';
import type { BenchSettings, Consumer, ConsumeOptions, QueueUnderTest } from './systems/system';

export interface WorkloadContext {
  tag: string;
  n: number;
  settings: BenchSettings;
  /** Bound on each phase of a run (ms). */
  timeoutMs: number;
  latency: { count: number; warmup: number; spacingMs: number };
}

export interface Verification {
  expected: number;
  delivered: number;
  duplicates: number;
  foreign: number;
  pending: number;
}

export interface Measured {
  /** msg/s for throughput workloads; ms for W4 (p50, with p95/p99 beside it); MiB for W3m. */
  value: number;
  /** A second figure shown with the run (W3m: its throughput). */
  note?: string;
  percentiles?: { p50: number; p95: number; p99: number };
  /**
   * Throughput workloads: the whole machine's CPU time in the timed section per message, in
   * µs (bench/lib/cpu.ts): client, server and Postgres together.
   */
  cpuUsPerMessage?: number;
  verification: Verification;
}

/** Raised by a workload that the system cannot run (W5 before the library has exactly-once). */
export class NotAvailable extends Error {}

export interface Workload {
  id: string;
  title: string;
  unit: 'msg/s' | 'ms' | 'MiB';
  /** Only these systems run it (W5: Mailroom only). */
  only?: string[];
  /** Its N when no --n-<id> is given (else --n). */
  defaultN?: number;
  run(queue: QueueUnderTest, ctx: WorkloadContext): Promise<Measured>;
}

const BATCH_SIZE = 1_000;
const CONCURRENT_SENDERS = 50;

export const WORKLOADS: Workload[] = [
  {
    id: 'W1',
    title: 'one producer, one message per call, each awaited',
    unit: 'msg/s',
    run: (q, ctx) =>
      produce(q, ctx, async () => {
        for (let i = 0; i < ctx.n; i += 1) await q.send(makeBody(ctx.tag, i));
      }),
  },
  {
    id: 'W2',
    title: `batched enqueue, ${BATCH_SIZE} per call`,
    unit: 'msg/s',
    run: (q, ctx) =>
      produce(q, ctx, async () => {
        for (let i = 0; i < ctx.n; i += BATCH_SIZE) {
          await q.sendBatch(makeBodies(ctx.tag, i, Math.min(BATCH_SIZE, ctx.n - i)));
        }
      }),
  },
  {
    id: 'W2c',
    title: `${CONCURRENT_SENDERS} concurrent single sends`,
    unit: 'msg/s',
    run: (q, ctx) => produce(q, ctx, () => lanes(ctx.n, CONCURRENT_SENDERS, (i) => q.send(makeBody(ctx.tag, i)))),
  },
  {
    id: 'W3',
    title: 'end-to-end: N preloaded, 10 concurrent no-op handlers with ack, until nothing is pending',
    unit: 'msg/s',
    run: (q, ctx) => consumeAll(q, ctx, (options) => q.consume(options)),
  },
  {
    id: 'W4',
    title: 'latency: idle consumer, sends spaced apart, send to handler start',
    unit: 'ms',
    run: latency,
  },
  {
    id: 'W3m',
    title: "memory: W3 through the REST broker with N = 200,000; the broker process's peak RSS",
    unit: 'MiB',
    only: ['mailroom-rest'],
    defaultN: 200_000,
    run: brokerMemory,
  },
  {
    id: 'W5',
    title: 'W3 with exactly-once handlers',
    unit: 'msg/s',
    only: ['mailroom', 'mailroom-push'],
    run: (q, ctx) => {
      const consume = q.consumeExactlyOnce?.bind(q);
      if (!consume) throw new NotAvailable('not available: the library has no exactly-once consumer mode yet');
      return consumeAll(q, ctx, consume);
    },
  },
];

/** A producer workload: time `send`, then drain (untimed) to prove every message arrived once. */
async function produce(q: QueueUnderTest, ctx: WorkloadContext, send: () => Promise<void>): Promise<Measured> {
  const busy = machineBusySeconds();
  const started = now();
  await within(ctx.timeoutMs, 'sending', send());
  const seconds = (now() - started) / 1000;
  const cpuUsPerMessage = cpuPerMessage(busy, ctx.n);
  const tracker = new DeliveryTracker(ctx.tag, ctx.n);
  await drain(q, ctx, tracker, (options) => q.consume(options));
  return { value: ctx.n / seconds, cpuUsPerMessage, verification: await verify(q, tracker) };
}

/** W3/W5: preload with batches (untimed), checkpoint, then time consumption until nothing is pending. */
async function consumeAll(
  q: QueueUnderTest,
  ctx: WorkloadContext,
  consume: (options: ConsumeOptions) => Promise<Consumer>,
): Promise<Measured> {
  await within(ctx.timeoutMs, 'preloading', preload(q, ctx));
  await checkpoint();
  const tracker = new DeliveryTracker(ctx.tag, ctx.n);
  const busy = machineBusySeconds();
  const started = now();
  await drain(q, ctx, tracker, consume);
  const seconds = (now() - started) / 1000;
  const cpuUsPerMessage = cpuPerMessage(busy, ctx.n);
  return { value: ctx.n / seconds, cpuUsPerMessage, verification: await verify(q, tracker) };
}

async function preload(q: QueueUnderTest, ctx: WorkloadContext): Promise<void> {
  for (let i = 0; i < ctx.n; i += BATCH_SIZE) {
    await q.sendBatch(makeBodies(ctx.tag, i, Math.min(BATCH_SIZE, ctx.n - i)));
  }
}

/** Runs a consumer until every message was handled and the system reports nothing pending. */
async function drain(
  q: QueueUnderTest,
  ctx: WorkloadContext,
  tracker: DeliveryTracker,
  consume: (options: ConsumeOptions) => Promise<Consumer>,
): Promise<void> {
  const consumer = await consume({ onMessage: (body) => tracker.record(body) });
  try {
    await within(ctx.timeoutMs, `handling ${tracker.expected} messages`, tracker.reached());
    await until(async () => (await q.pending()) === 0, ctx.timeoutMs, 'nothing pending');
  } finally {
    await within(ctx.timeoutMs, 'stopping the consumer', consumer.stop());
  }
}

async function verify(q: QueueUnderTest, tracker: DeliveryTracker): Promise<Verification> {
  return {
    expected: tracker.expected,
    delivered: tracker.distinct,
    duplicates: tracker.duplicates,
    foreign: tracker.foreign,
    pending: await q.pending(),
  };
}

/**
 * W4: an idle consumer; `warmup` + `count` sends started `spacingMs` apart; send call to handler
 * start of the last `count` (the warm-up sends are delivered and verified, not sampled).
 */
async function latency(q: QueueUnderTest, ctx: WorkloadContext): Promise<Measured> {
  const { count, warmup, spacingMs } = ctx.latency;
  const total = warmup + count;
  const tracker = new DeliveryTracker(ctx.tag, total);
  const samples: number[] = [];
  const consumer = await q.consume({
    onMessage: (body) => {
      if (body.sentAt > 0) samples.push(now() - body.sentAt);
      tracker.record(body);
    },
  });
  try {
    await sleep(500); // let every handler reach its idle wait
    const sends: Promise<void>[] = [];
    const started = now();
    for (let i = 0; i < total; i += 1) {
      const due = started + i * spacingMs;
      if (due > now()) await sleep(due - now());
      sends.push(q.send(makeBody(ctx.tag, i, i < warmup ? 0 : now())));
    }
    await within(ctx.timeoutMs, 'latency sends', Promise.all(sends));
    await within(ctx.timeoutMs, `handling ${total} messages`, tracker.reached());
    await until(async () => (await q.pending()) === 0, ctx.timeoutMs, 'nothing pending');
  } finally {
    await within(ctx.timeoutMs, 'stopping the consumer', consumer.stop());
  }
  const p = (x: number) => percentile(samples, x);
  return {
    value: p(50),
    percentiles: { p50: p(50), p95: p(95), p99: p(99) },
    verification: await verify(q, tracker),
  };
}

/** W3m: W3 through a system with its own server process, sampling that process's RSS every 200 ms. */
async function brokerMemory(q: QueueUnderTest, ctx: WorkloadContext): Promise<Measured> {
  const pid = q.serverPid?.();
  if (!pid) throw new NotAvailable('not available: the system runs no server process of ours');
  let peak = 0;
  const sample = () => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    peak = Math.max(peak, Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
  };
  const sampler = setInterval(sample, 200);
  try {
    const consumed = await consumeAll(q, ctx, (options) => q.consume(options));
    sample();
    return { ...consumed, value: peak, note: `${Math.round(consumed.value)} msg/s` };
  } finally {
    clearInterval(sampler);
  }
}
