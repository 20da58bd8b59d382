import 'reflect-metadata';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MailroomClient, MailroomModule, OnMessage, mailroomEntities, mailroomMigrations } from '@mailroom/core';
import { makeBody, now, type BenchBody } from '../lib/body';
import { percentile, sleep } from '../lib/timing';
import { SOAK_TABLES, tableStats, vacuumSettings } from './stats';
import { writeSoakReport, type Sample, type Segment } from './plot';

/**
 * The soak: `total` messages through send → claim → ack at a steady `rate`, on a Postgres with
 * default autovacuum; every `sampleS` seconds one sample (throughput, send → handler latency,
 * size and dead tuples of the tables the cycle writes) appended to samples.jsonl; every
 * `segment` messages handled, one segment line (its throughput and p99). Plots and a summary at the end.
 */
interface SoakArgs {
  url: string;
  total: number;
  rate: number;
  sampleS: number;
  segment: number;
  concurrency: number;
  out: string;
}

const QUEUE = 'soak';
const TICK_MS = 50;

function parse(argv: string[]): SoakArgs {
  const args: SoakArgs = {
    url: process.env.SOAK_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5442/mailroom_soak',
    total: 5_000_000,
    rate: 3_000,
    sampleS: 5,
    segment: 1_000_000,
    concurrency: 10,
    out: 'bench/soak/results',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const int = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) usage(`${flag} needs a positive integer`);
      return n;
    };
    if (flag === '--url') args.url = value;
    else if (flag === '--total') args.total = int();
    else if (flag === '--rate') args.rate = int();
    else if (flag === '--sample-s') args.sampleS = int();
    else if (flag === '--segment') args.segment = int();
    else if (flag === '--concurrency') args.concurrency = int();
    else if (flag === '--out') args.out = value;
    else usage(flag === '--help' ? '' : `unknown option ${flag}`);
  }
  return args;
}

function usage(message: string): never {
  if (message) console.error(message);
  console.error(
    'usage: npm run bench:soak -- [--url postgres://postgres@127.0.0.1:5442/mailroom_soak] [--total 5000000]\n' +
      '  [--rate 3000] [--sample-s 5] [--segment 1000000] [--concurrency 10] [--out bench/soak/results]',
  );
  process.exit(message ? 2 : 0);
}

/** A fresh database for every soak: no earlier run's bloat or statistics. */
async function freshDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

/** What the handler sees: latencies in handling order, and each message's delivery count. */
class Deliveries {
  readonly latency: Float32Array;
  readonly seen: Uint8Array;
  handled = 0;
  duplicates = 0;
  constructor(readonly total: number) {
    this.latency = new Float32Array(total);
    this.seen = new Uint8Array(total);
  }
  record(body: BenchBody): void {
    if (this.seen[body.i]++ > 0) {
      this.duplicates += 1;
      return;
    }
    this.latency[this.handled++] = now() - body.sentAt;
  }
}

async function startConsumer(dataSource: DataSource, concurrency: number, deliveries: Deliveries) {
  @Injectable()
  class SoakHandler {
    // Library defaults apart from concurrency: prefetch (= concurrency), ack mode manual (at-least-once).
    @OnMessage(QUEUE, { consumer: 'soak', concurrency })
    handle(body: BenchBody): void {
      deliveries.record(body);
    }
  }
  @Module({ imports: [MailroomModule.forRoot({ dataSource })], providers: [SoakHandler] })
  class SoakModule {}
  const app: INestApplicationContext = await NestFactory.createApplicationContext(SoakModule, {
    logger: ['error', 'warn'],
  });
  await app.init();
  return app;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  mkdirSync(args.out, { recursive: true });
  const samplesFile = join(args.out, 'samples.jsonl');
  const segmentsFile = join(args.out, 'segments.jsonl');
  writeFileSync(samplesFile, '');
  writeFileSync(segmentsFile, '');
  await freshDatabase(args.url);
  const dataSource = new DataSource({
    type: 'postgres',
    url: args.url,
    entities: mailroomEntities,
    migrations: mailroomMigrations,
    migrationsRun: true,
    applicationName: 'mailroom-soak',
  });
  await dataSource.initialize();
  const client = new MailroomClient(dataSource);
  await client.start();
  await client.createQueue(QUEUE);
  const settings = await vacuumSettings(dataSource);
  writeFileSync(join(args.out, 'settings.json'), JSON.stringify({ args, settings }, null, 1));
  console.log(`soak: ${args.total} messages at ${args.rate} msg/s; Postgres ${settings.server_version}`);

  const deliveries = new Deliveries(args.total);
  const app = await startConsumer(dataSource, args.concurrency, deliveries);
  const started = now();
  let sent = 0;
  let sendErrors = 0;

  // Producer: every tick, a batch of what the fixed rate says is due (catching up after a slow tick).
  const producing = (async () => {
    while (sent < args.total) {
      const due = Math.min(args.total, Math.floor(((now() - started) / 1000) * args.rate));
      const count = Math.min(due - sent, 5_000);
      if (count <= 0) {
        await sleep(TICK_MS);
        continue;
      }
      const at = now();
      const bodies = Array.from({ length: count }, (_, k) => makeBody('soak', sent + k, at));
      try {
        await client.sendBatch(
          QUEUE,
          bodies.map((body) => ({ body })),
        );
        sent += count;
      } catch (error) {
        sendErrors += 1;
        console.error(`send failed: ${error}`);
        await sleep(1_000);
      }
    }
  })();

  // Segments: every `segment` messages handled, its throughput and latency percentiles.
  const segments: Segment[] = [];
  let segmentStart = started;
  const closeSegment = (upTo: number) => {
    const from = segments.length * args.segment;
    const slice = Array.from(deliveries.latency.subarray(from, upTo));
    const t = now();
    const seg: Segment = {
      index: segments.length + 1,
      from,
      to: upTo,
      seconds: (t - segmentStart) / 1000,
      throughput: (upTo - from) / ((t - segmentStart) / 1000),
      p50: percentile(slice, 50),
      p99: percentile(slice, 99),
      max: slice.reduce((a, b) => Math.max(a, b), 0),
    };
    segmentStart = t;
    segments.push(seg);
    appendFileSync(segmentsFile, JSON.stringify(seg) + '\n');
    console.log(
      `segment ${seg.index}: ${seg.from}–${seg.to} in ${seg.seconds.toFixed(0)} s, ${Math.round(seg.throughput)} msg/s, ` +
        `p50 ${seg.p50.toFixed(1)} ms p99 ${seg.p99.toFixed(1)} ms`,
    );
  };

  // Sampler.
  const samples: Sample[] = [];
  let lastHandled = 0;
  let lastSent = 0;
  let lastT = started;
  const sampleOnce = async () => {
    const t = now();
    const handled = deliveries.handled;
    const window = Array.from(deliveries.latency.subarray(lastHandled, handled));
    const stats = await tableStats(dataSource);
    const sample: Sample = {
      t: (t - started) / 1000,
      sent,
      handled,
      backlog: sent - handled,
      sendRate: (sent - lastSent) / ((t - lastT) / 1000),
      handleRate: (handled - lastHandled) / ((t - lastT) / 1000),
      p50: window.length ? percentile(window, 50) : null,
      p99: window.length ? percentile(window, 99) : null,
      load: loadavg()[0],
      tables: stats,
    };
    [lastHandled, lastSent, lastT] = [handled, sent, t];
    samples.push(sample);
    appendFileSync(samplesFile, JSON.stringify(sample) + '\n');
    const m = stats.mailroom_message;
    console.log(
      `${sample.t.toFixed(0)} s: sent ${sent} handled ${handled} backlog ${sample.backlog}; ` +
        `${Math.round(sample.handleRate)} msg/s p99 ${sample.p99?.toFixed(1)} ms; message table ` +
        `${((m?.total ?? 0) / 2 ** 20).toFixed(1)} MiB dead ${m?.dead}; load ${sample.load.toFixed(1)}`,
    );
  };

  while (deliveries.handled < args.total) {
    await sleep(Math.min(args.sampleS * 1000, 250));
    while (deliveries.handled >= (segments.length + 1) * args.segment)
      closeSegment((segments.length + 1) * args.segment);
    if (now() - lastT >= args.sampleS * 1000) await sampleOnce();
  }
  await producing;
  if (segments.length * args.segment < args.total) closeSegment(args.total);
  await sampleOnce();
  await app.close();
  const pending = await client.getQueue(QUEUE);
  const missing = deliveries.seen.reduce((n, s) => n + (s === 0 ? 1 : 0), 0);
  const result = {
    total: args.total,
    rate: args.rate,
    seconds: (now() - started) / 1000,
    duplicates: deliveries.duplicates,
    missing,
    sendErrors,
    pending: pending.stats,
    tables: SOAK_TABLES,
  };
  writeFileSync(join(args.out, 'result.json'), JSON.stringify(result, null, 1));
  await client.close();
  await dataSource.destroy();
  writeSoakReport(args.out, { settings, samples, segments, result });
  console.log(`soak done: ${JSON.stringify(result)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
