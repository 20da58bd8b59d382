import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createTestDatabase } from '@mailroom/core/testing';
import { lanes, percentile, sleep, until } from '../lib/timing';
import { openDbos } from './dbos';
import { openMailroom } from './mailroom';
import type { W6System } from './system';

/**
 * W6: durable workflows, Mailroom against DBOS Transact on the same local Postgres. The parent
 * gives each system a fresh database per run and runs each phase in a child process of its own
 * (DBOS is a process-wide singleton; RSS must be one process's). Prints one JSON line per phase.
 *
 *   node dist/bench/w6/run.js [--runs 3] [--n 2000] [--timers 10000] [--wait-ms 5000] [--timer-rate 200]
 *                             [--timer-warmup 200] [--memory 100000]
 *                             [--server postgres://postgres@127.0.0.1:5432]
 *                             [--systems mailroom,dbos] [--phases throughput,timers]  (--memory 0: no memory phase)
 */
const option = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const arg = (name: string, fallback: number) => Number(option(name) ?? fallback);
/** `--server`: a Postgres of the run's own (pg_stat_wal is cluster-wide: other sessions' writes count too). */
const SERVER = option('server') ?? 'postgres://postgres@127.0.0.1:5432';
const TIMEOUT_MS = 600_000;

async function admin(sql: string): Promise<void> {
  const pg = new Client({ connectionString: `${SERVER}/postgres` });
  await pg.connect();
  await pg.query(sql).finally(() => pg.end());
}

async function freshDatabase(system: string): Promise<{ url: string; drop: () => Promise<void> }> {
  if (system === 'mailroom') return createTestDatabase(`${SERVER}/postgres`);
  // DBOS creates its system database on launch; a generated name, never input.
  const name = `w6_dbos_${randomBytes(4).toString('hex')}`;
  return { url: `${SERVER}/${name}`, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

function open(system: string, url: string): Promise<W6System> {
  return system === 'mailroom' ? openMailroom(url) : openDbos(url);
}

/** Cluster-wide WAL counters: other sessions on the server add to them (see RESULTS.md). */
async function wal(): Promise<{ records: number; bytes: number }> {
  const pg = new Client({ connectionString: `${SERVER}/postgres` });
  await pg.connect();
  const { rows } = await pg.query('SELECT wal_records, wal_bytes FROM pg_stat_wal').finally(() => pg.end());
  return { records: Number(rows[0].wal_records), bytes: Number(rows[0].wal_bytes) };
}

const p = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });

/** N order workflows started by a message, 10 at a time in flight; each start timed to its last step. */
async function throughput(s: W6System, n: number) {
  const started = new Map<string, number>();
  const before = await wal();
  const t0 = performance.now();
  await lanes(n, 10, async (i) => {
    const id = `order-${i}`;
    started.set(id, performance.now());
    await s.startOrder(id);
    await until(async () => s.finishedAt(id) !== undefined, TIMEOUT_MS, id, 1);
  });
  const seconds = (performance.now() - t0) / 1000;
  await until(async () => (await s.waiting()) === 0, TIMEOUT_MS, 'all done');
  const after = await wal();
  const transitions = await s.transitions();
  const latency = [...started].map(([id, t]) => s.finishedAt(id)! - t);
  return {
    perSecond: n / seconds,
    latencyMs: p(latency),
    transitions,
    walRecordsPerTransition: (after.records - before.records) / transitions,
    walBytesPerTransition: (after.bytes - before.bytes) / transitions,
  };
}

/**
 * `count` timers of `waitMs`, started 10 at a time; lateness = fire time − deadline. With
 * `perSecond` (`--timer-rate`), start i waits for t0 + i / perSecond: every system gets the
 * same offered load, timers falling due at that rate while the later ones are still being
 * started (a faster starter would otherwise face more firings at once). 0: as fast as each
 * system starts them. The first `warmup` (`--timer-warmup`) are started the same way and fired,
 * but not sampled, as W4 does with its warm-up sends: no system's first firings (statements
 * prepared on each pool connection, code compiled) are its p99.
 */
async function timers(s: W6System, count: number, waitMs: number, perSecond: number, warmup: number) {
  const key = (i: number) => (i < warmup ? `warmup-${i}` : `timer-${i - warmup}`);
  const t0 = performance.now();
  await lanes(warmup + count, 10, async (i) => {
    const wait = perSecond > 0 ? t0 + (i * 1000) / perSecond - performance.now() : 0;
    if (wait > 0) await sleep(wait);
    await s.startTimer(key(i), waitMs);
  });
  const startsPerSecond = (warmup + count) / ((performance.now() - t0) / 1000);
  await until(async () => (await s.timersFired()) === warmup + count, TIMEOUT_MS, 'timers fired', 200);
  const sampled = [...(await s.timerLateness(waitMs))].filter(([k]) => k.startsWith('timer-')).map(([, ms]) => ms);
  if (sampled.length !== count) throw new Error(`${sampled.length} of ${count} timers' lateness found`);
  return { timers: count, warmup, waitMs, timerRate: perSecond, startsPerSecond, latenessMs: p(sampled) };
}

async function fill(s: W6System, count: number) {
  const batch = 500;
  await lanes(Math.ceil(count / batch), 4, (b) =>
    s.startTimers(
      Array.from({ length: Math.min(batch, count - b * batch) }, (_, i) => `wait-${b * batch + i}`),
      3_600_000,
    ),
  );
}

/** The worker idles `ms` over whatever is waiting; its peak RSS (sampled every 100 ms). */
async function idleRss(s: W6System, ms: number) {
  let peak = process.memoryUsage().rss;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    peak = Math.max(peak, process.memoryUsage().rss);
    await sleep(100);
  }
  return { waiting: await s.waiting(), peakRssMiB: peak / 2 ** 20 };
}

async function child(system: string, phase: string, url: string): Promise<unknown> {
  const s = await open(system, url);
  try {
    if (phase === 'throughput') return await throughput(s, arg('n', 2000));
    if (phase === 'timers')
      return await timers(
        s,
        arg('timers', 10_000),
        arg('wait-ms', 5_000),
        arg('timer-rate', 200),
        arg('timer-warmup', 200),
      );
    if (phase === 'fill') return await fill(s, arg('memory', 100_000));
    return await idleRss(s, 15_000);
  } finally {
    await s.close();
  }
}

function spawnPhase(system: string, phase: string, url: string): unknown {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, __filename, '--child', system, phase, url, ...process.argv.slice(2)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: TIMEOUT_MS,
    },
  );
  return JSON.parse(out.trim().split('\n').pop() || 'null');
}

async function parent(): Promise<void> {
  const runs = arg('runs', 3);
  const systems = (option('systems') ?? 'mailroom,dbos').split(',');
  const phases = (option('phases') ?? 'throughput,timers').split(',');
  for (let run = 1; run <= runs; run += 1) {
    for (const system of systems) {
      for (const phase of phases) {
        const db = await freshDatabase(system);
        console.log(JSON.stringify({ run, system, phase, ...(spawnPhase(system, phase, db.url) as object) }));
        await db.drop();
        await admin('CHECKPOINT');
      }
    }
  }
  const memory = arg('memory', 100_000);
  for (const count of memory ? [0, memory] : []) {
    const db = await freshDatabase('mailroom');
    if (count) spawnPhase('mailroom', 'fill', db.url);
    console.log(
      JSON.stringify({
        system: 'mailroom',
        phase: 'memory',
        filled: count,
        ...(spawnPhase('mailroom', 'rss', db.url) as object),
      }),
    );
    await db.drop();
  }
}

const at = process.argv.indexOf('--child');
const main =
  at >= 0
    ? child(process.argv[at + 1], process.argv[at + 2], process.argv[at + 3]).then((r) =>
        console.log(JSON.stringify(r ?? {})),
      )
    : parent();
main.then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
