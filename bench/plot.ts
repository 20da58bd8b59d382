import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { barChart, PALETTE, type BarGroup } from './lib/svg';
import { median } from './lib/timing';
import type { RunRecord } from './report';
import { WORKLOADS } from './workloads';

/**
 * One SVG chart per workload from the bench's JSON results: systems side by side, a bar at the
 * median of the verified runs and a whisker from their min to their max (W4: p50 and p99).
 * `node dist/bench/plot.js bench/RESULTS.json bench` writes bench/RESULTS-W1.svg, ...; run.ts
 * calls it after every run.
 */
interface ResultsFile {
  args: { n: number; runs: number };
  started: string;
  systems: { id: string; label?: string; skipped: string | null }[];
  runs: RunRecord[];
}

export function writePlots(resultsFile: string, outDir: string): string[] {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as ResultsFile;
  const base = basename(resultsFile).replace(/\.json$/, '');
  const written: string[] = [];
  for (const workload of WORKLOADS) {
    const runs = results.runs.filter((r) => r.workload === workload.id && r.outcome === 'ok' && r.measured);
    if (runs.length === 0) continue;
    const latency = workload.unit === 'ms';
    const series = latency
      ? [
          { name: 'p50', color: PALETTE[0] },
          { name: 'p99', color: PALETTE[3] },
        ]
      : [{ name: workload.unit, color: PALETTE[0] }];
    const groups: BarGroup[] = [];
    for (const system of results.systems) {
      const mine = runs.filter((r) => r.system === system.id);
      if (mine.length === 0) continue;
      const pick = latency
        ? [(r: RunRecord) => r.measured!.percentiles!.p50, (r: RunRecord) => r.measured!.percentiles!.p99]
        : [(r: RunRecord) => r.measured!.value];
      groups.push({
        label: system.label ?? system.id,
        values: pick.map((f) => {
          const xs = mine.map(f);
          return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
        }),
      });
    }
    const loads = runs.map((r) => r.load);
    const svg = barChart({
      title: fit(`${workload.id}: ${workload.title}`, 84),
      subtitle:
        `${latency ? 'lower' : 'higher'} is better; median of ${results.args.runs} run(s), whisker min–max; ` +
        `N = ${runs[0].n}; load avg ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; ${results.started}`,
      unit: workload.unit,
      series,
      groups,
    });
    const file = join(outDir, `${base}-${workload.id}.svg`);
    writeFileSync(file, svg);
    written.push(file);
  }
  return written;
}

/** The chart's title line holds about 84 characters at its font size. */
function fit(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

if (require.main === module) {
  const [resultsFile, outDir] = process.argv.slice(2);
  if (!resultsFile || !outDir) {
    console.error('usage: node dist/bench/plot.js <results.json> <outdir>');
    process.exit(2);
  }
  for (const file of writePlots(resultsFile, outDir)) console.log(`wrote ${file}`);
}
