import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs, type BenchArgs } from './lib/args';
import { checkpoint, dropLeftoverSchemas, ensureBenchDatabase } from './lib/pg';
import { within } from './lib/timing';
import { writeHotPathNotes } from './hotpath';
import { writePlots } from './plot';
import { cpuNote, renderResults, type RunRecord, type SystemRecord } from './report';
import { SYSTEMS } from './systems';
import type { BenchSystem } from './systems/system';
import { NotAvailable, WORKLOADS, type Workload } from './workloads';

/**
 * The bench: every selected workload, run `runs` times on every reachable system, each run on a
 * fresh queue or schema with a CHECKPOINT after it; each run verified (every message delivered,
 * none twice, nothing pending); medians and ratios written to RESULTS.md.
 */
async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const systemIds = new Set(SYSTEMS.map((s) => s.id));
  const workloadIds = new Set(WORKLOADS.map((w) => w.id.toLowerCase()));
  const unknown = args.only.filter((o) => !systemIds.has(o) && !workloadIds.has(o.toLowerCase()));
  if (unknown.length) throw new Error(`--only: unknown ${unknown.join(', ')}; systems: ${[...systemIds].join(', ')}`);
  const pick = <T>(items: T[], id: (t: T) => string, known: Set<string>) => {
    const wanted = args.only.filter((o) => known.has(o.toLowerCase()) || known.has(o));
    return wanted.length ? items.filter((t) => wanted.some((o) => o.toLowerCase() === id(t).toLowerCase())) : items;
  };
  const systems = pick(SYSTEMS, (s) => s.id, systemIds);
  const workloads = pick(WORKLOADS, (w) => w.id, workloadIds);

  await ensureBenchDatabase();
  await dropLeftoverSchemas();
  const records: SystemRecord[] = [];
  for (const system of systems) {
    const skipped = await system.probe().catch((e: unknown) => `probe failed: ${e}`);
    records.push({ system, ...system.describe(), skipped });
    console.log(`${system.label}: ${skipped ? `SKIPPED (${skipped})` : 'ready'}`);
  }
  const ready = records.filter((r) => !r.skipped).map((r) => r.system);
  const runs: RunRecord[] = [];
  const started = new Date();
  for (const workload of workloads) {
    for (let run = 1; run <= args.runs; run += 1) {
      // Systems interleave within each round, so a slow drift of the machine hits all alike.
      for (const system of ready) {
        if (workload.only && !workload.only.includes(system.id)) continue;
        const record = await runOnce(system, workload, run, args);
        runs.push(record);
        console.log(describeRun(record));
        await checkpoint();
      }
    }
  }
  const hotpath = args.hotpath && ready.some((s) => s.id === 'mailroom') ? await writeHotPathNotes(args) : null;
  const markdown = await renderResults({ args, records, runs, workloads, started, finished: new Date(), hotpath });
  writeFileSync(args.out, markdown);
  const raw = args.out.replace(/\.md$/, '') + '.json';
  writeFileSync(
    raw,
    JSON.stringify(
      {
        args,
        started,
        systems: records.map(({ system, ...r }) => ({ id: system.id, label: system.label, ...r })),
        runs,
      },
      null,
      1,
    ),
  );
  const plots = writePlots(raw, dirname(args.out));
  console.log(`\nWrote ${args.out}, ${raw} and ${plots.length} charts (${plots.join(', ')})`);
}

async function runOnce(system: BenchSystem, workload: Workload, run: number, args: BenchArgs): Promise<RunRecord> {
  const n = args.nFor[workload.id.toUpperCase()] ?? workload.defaultN ?? args.n;
  // The process id in the tag: two benches on one machine never drop each other's schemas.
  const tag = `${workload.id.toLowerCase()}_r${run}_${process.pid.toString(36)}`;
  const errors: string[] = [];
  const base = { system: system.id, workload: workload.id, run, n, errors, load: loadavg()[0] };
  let queue;
  try {
    queue = await within(
      args.timeoutMs,
      `opening ${system.id}`,
      system.open({
        tag,
        settings: { concurrency: args.concurrency, batch: args.batch },
        onError: (e) => {
          if (errors.length < 20) errors.push(String(e instanceof Error ? e.message : e));
        },
      }),
    );
  } catch (error) {
    return { ...base, outcome: 'failed', reason: `open: ${error}` };
  }
  try {
    const ctx = {
      tag,
      n,
      settings: { concurrency: args.concurrency, batch: args.batch },
      timeoutMs: args.timeoutMs,
      latency: { count: args.latencyCount, warmup: args.latencyWarmup, spacingMs: args.spacingMs },
    };
    const measured = await workload.run(queue, ctx);
    const v = measured.verification;
    const ok = v.delivered === v.expected && v.duplicates === 0 && v.foreign === 0 && v.pending === 0;
    return { ...base, outcome: ok ? 'ok' : 'unverified', measured };
  } catch (error) {
    if (error instanceof NotAvailable) return { ...base, outcome: 'n/a', reason: error.message };
    return { ...base, outcome: 'failed', reason: String(error instanceof Error ? error.message : error) };
  } finally {
    await within(args.timeoutMs, `closing ${system.id}`, queue.close()).catch((e: unknown) => {
      errors.push(`close: ${e}`);
    });
  }
}

function workload(id: string): Workload {
  return WORKLOADS.find((w) => w.id === id)!;
}

function describeRun(r: RunRecord): string {
  const head = `${r.workload} run ${r.run} ${r.system.padEnd(16)}`;
  if (!r.measured) return `${head} ${r.outcome.toUpperCase()}: ${r.reason}`;
  const m = r.measured;
  const v = m.verification;
  const figure = m.percentiles
    ? `p50 ${m.percentiles.p50.toFixed(2)} ms  p95 ${m.percentiles.p95.toFixed(2)}  p99 ${m.percentiles.p99.toFixed(2)}`
    : `${Math.round(m.value)} ${workload(r.workload).unit}${m.note ? ` (${m.note})` : ''}${cpuNote(m)}`;
  const check = `${v.delivered}/${v.expected} delivered, ${v.duplicates} dup, ${v.pending} pending`;
  const errors = r.errors.length ? `, ${r.errors.length} client errors (${r.errors[0]})` : '';
  return `${head} ${figure}  [${r.outcome}: ${check}${errors}]`;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
