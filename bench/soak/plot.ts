import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart, PALETTE } from '../lib/svg';
import { median } from '../lib/timing';
import type { TableStats } from './stats';

/**
 * The soak's plots over time and its summary, from what run.ts wrote: `node dist/bench/soak/plot.js
 * <dir>` redraws them from <dir>/samples.jsonl and segments.jsonl (also for a run cut short).
 */
export interface Sample {
  /** Seconds since the producer started. */
  t: number;
  sent: number;
  handled: number;
  backlog: number;
  sendRate: number;
  handleRate: number;
  /** Send → handler start of the messages handled in this sample's window (ms). */
  p50: number | null;
  p99: number | null;
  load: number;
  tables: Record<string, TableStats>;
}

export interface Segment {
  index: number;
  from: number;
  to: number;
  seconds: number;
  throughput: number;
  p50: number;
  p99: number;
  max: number;
}

interface SoakData {
  settings: Record<string, string>;
  samples: Sample[];
  segments: Segment[];
  result: Record<string, unknown> | null;
}

const MIB = 2 ** 20;

export function writeSoakReport(dir: string, data: SoakData): void {
  const { samples } = data;
  const minutes = (s: Sample) => s.t / 60;
  const series = (name: string, color: string, value: (s: Sample) => number | null | undefined) => ({
    name,
    color,
    points: samples.flatMap((s) => {
      const v = value(s);
      return v === null || v === undefined || !Number.isFinite(v) ? [] : [[minutes(s), v] as [number, number]];
    }),
  });
  const subtitle = `${samples.at(-1)?.handled ?? 0} messages handled; samples every ${Math.round(
    samples.length > 1 ? samples[1].t - samples[0].t : 0,
  )} s; autovacuum: ${
    (data.settings['mailroom_message reloptions'] ?? '(none)') === '(none)'
      ? 'server defaults'
      : 'server defaults + per-table reloptions'
  }`;
  const charts: Record<string, string> = {
    'soak-throughput.svg': lineChart({
      title: 'Soak: throughput',
      subtitle,
      xLabel: 'minutes',
      unit: 'msg/s',
      lines: [series('sent', PALETTE[0], (s) => s.sendRate), series('handled', PALETTE[1], (s) => s.handleRate)],
    }),
    'soak-backlog.svg': lineChart({
      title: 'Soak: backlog (sent, not yet handled)',
      subtitle,
      xLabel: 'minutes',
      unit: 'messages',
      lines: [series('backlog', PALETTE[3], (s) => s.backlog)],
    }),
    'soak-latency.svg': lineChart({
      title: 'Soak: send → handler latency per sample window',
      subtitle,
      xLabel: 'minutes',
      unit: 'ms',
      lines: [series('p50', PALETTE[0], (s) => s.p50), series('p99', PALETTE[3], (s) => s.p99)],
    }),
    'soak-size.svg': lineChart({
      title: 'Soak: table and index size',
      subtitle,
      xLabel: 'minutes',
      unit: 'MiB',
      lines: [
        series('mailroom_message heap', PALETTE[0], (s) => s.tables.mailroom_message?.heap / MIB),
        series('mailroom_message indexes', PALETTE[1], (s) => s.tables.mailroom_message?.indexes / MIB),
        series('mailroom_lease total', PALETTE[2], (s) => s.tables.mailroom_lease?.total / MIB),
        series('mailroom_queue total', PALETTE[4], (s) => s.tables.mailroom_queue?.total / MIB),
      ],
    }),
    'soak-dead.svg': lineChart({
      title: 'Soak: dead tuples (pg_stat_user_tables.n_dead_tup)',
      subtitle,
      xLabel: 'minutes',
      unit: 'dead tuples',
      lines: [
        series('mailroom_message', PALETTE[0], (s) => s.tables.mailroom_message?.dead),
        series('mailroom_lease', PALETTE[2], (s) => s.tables.mailroom_lease?.dead),
        series('mailroom_queue', PALETTE[4], (s) => s.tables.mailroom_queue?.dead),
      ],
    }),
  };
  for (const [file, svg] of Object.entries(charts)) writeFileSync(join(dir, file), svg);
  writeFileSync(join(dir, 'summary.md'), summary(data));
  writeFileSync(join(dir, 'samples.csv'), csv(samples));
}

function summary({ settings, samples, segments, result }: SoakData): string {
  const lines = [
    "| segment | messages | seconds | msg/s | p50 ms | p99 ms | max ms | median of the windows' p99 ms | load |",
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of segments) {
    // The sample windows inside the segment: a view of its p99 that one burst cannot dominate.
    const inside = samples.filter((x) => x.handled > s.from && x.handled <= s.to);
    const windowP99 = inside.map((x) => x.p99).filter((x): x is number => x !== null);
    const load = inside.map((x) => x.load);
    lines.push(
      `| ${s.index} | ${s.from}–${s.to} | ${s.seconds.toFixed(0)} | ${Math.round(s.throughput)} | ` +
        `${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.max.toFixed(0)} | ` +
        `${windowP99.length ? median(windowP99).toFixed(1) : '—'} | ` +
        `${load.length ? `${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}` : '—'} |`,
    );
  }
  const full = segments.filter((s, i) => i === 0 || s.to - s.from === segments[0].to - segments[0].from);
  if (full.length >= 2) {
    const [a, b] = [full[0], full[full.length - 1]];
    const pct = (x: number, y: number) => `${(((y - x) / x) * 100).toFixed(1)}%`;
    lines.push(
      '',
      `First vs last full segment: throughput ${pct(a.throughput, b.throughput)}, p99 ${pct(a.p99, b.p99)} ` +
        `(target: within ±20%; with a fixed producer rate the throughput follows the rate while the consumer keeps up).`,
    );
  }
  const msg = samples.map((s) => s.tables.mailroom_message).filter(Boolean);
  const lease = samples.map((s) => s.tables.mailroom_lease).filter(Boolean);
  const peak = (xs: TableStats[], f: (t: TableStats) => number) => Math.max(0, ...xs.map(f));
  const mib = (b: number) => `${(b / MIB).toFixed(1)} MiB`;
  if (msg.length) {
    const last = msg[msg.length - 1];
    lines.push(
      '',
      `mailroom_message: peak ${mib(peak(msg, (t) => t.total))} total (heap ${mib(peak(msg, (t) => t.heap))}, ` +
        `indexes ${mib(peak(msg, (t) => t.indexes))}); at the end ${mib(last.total)}; peak dead tuples ` +
        `${peak(msg, (t) => t.dead)}; ${last.autovacuums} autovacuums, ${last.autoanalyzes} autoanalyzes; ` +
        `HOT updates ${last.hotUpdates} of ${last.updates}.`,
    );
  }
  if (lease.length) {
    const last = lease[lease.length - 1];
    lines.push(
      `mailroom_lease: peak ${mib(peak(lease, (t) => t.total))}, at the end ${mib(last.total)}; peak dead tuples ` +
        `${peak(lease, (t) => t.dead)}; ${last.autovacuums} autovacuums; HOT updates ${last.hotUpdates} of ${last.updates}.`,
    );
  }
  const loads = samples.map((s) => s.load);
  if (loads.length) {
    lines.push(
      `Load average (1 min) over the run: min ${Math.min(...loads).toFixed(1)}, max ${Math.max(...loads).toFixed(1)}, ` +
        `mean ${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(1)}.`,
    );
  }
  lines.push('', `Result: \`${JSON.stringify(result)}\``, '', 'Settings:', '');
  for (const [k, v] of Object.entries(settings)) lines.push(`- ${k}: ${v}`);
  return lines.join('\n') + '\n';
}

function csv(samples: Sample[]): string {
  const head = ['t_s', 'sent', 'handled', 'backlog', 'send_rate', 'handle_rate', 'p50_ms', 'p99_ms', 'load'];
  const tables = ['mailroom_message', 'mailroom_lease', 'mailroom_queue'];
  for (const t of tables) head.push(`${t}_heap`, `${t}_indexes`, `${t}_total`, `${t}_dead`, `${t}_autovacuums`);
  const rows = samples.map((s) => {
    const row = [s.t.toFixed(1), s.sent, s.handled, s.backlog, s.sendRate.toFixed(0), s.handleRate.toFixed(0)];
    row.push(s.p50?.toFixed(2) ?? '', s.p99?.toFixed(2) ?? '', s.load.toFixed(2));
    for (const t of tables) {
      const x = s.tables[t];
      row.push(x?.heap ?? '', x?.indexes ?? '', x?.total ?? '', x?.dead ?? '', x?.autovacuums ?? '');
    }
    return row.join(',');
  });
  return [head.join(','), ...rows].join('\n') + '\n';
}

function readLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node dist/bench/soak/plot.js <soak results dir>');
    process.exit(2);
  }
  const settingsFile = join(dir, 'settings.json');
  const resultFile = join(dir, 'result.json');
  writeSoakReport(dir, {
    settings: existsSync(settingsFile) ? JSON.parse(readFileSync(settingsFile, 'utf8')).settings : {},
    samples: readLines<Sample>(join(dir, 'samples.jsonl')),
    segments: readLines<Segment>(join(dir, 'segments.jsonl')),
    result: existsSync(resultFile) ? JSON.parse(readFileSync(resultFile, 'utf8')) : null,
  });
  console.log(`Wrote the soak's SVGs, summary.md and samples.csv in ${dir}`);
}
