/**
 * Hand-written SVG charts for the bench: grouped bars with a min–max whisker (one chart per
 * workload) and line charts over time (the soak). No dependency: a chart is a string.
 */

export interface BarSeries {
  name: string;
  color: string;
}

export interface BarGroup {
  label: string;
  /** One entry per series, in series order; null where the system has no figure. */
  values: ({ median: number; min: number; max: number } | null)[];
}

export interface BarChart {
  title: string;
  subtitle?: string;
  unit: string;
  series: BarSeries[];
  groups: BarGroup[];
}

export interface LineChart {
  title: string;
  subtitle?: string;
  xLabel: string;
  unit: string;
  lines: { name: string; color: string; points: [number, number][] }[];
}

export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

const W = 760;
const H = 420;
const M = { left: 72, right: 20, top: 58, bottom: 96 };
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

/** Escapes text for SVG content and attributes. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round axis ticks from 0 to at least `max`: 1, 2 or 5 times a power of ten apart. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = 0; t < max + step * 0.999; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** 12345 → "12.3k", 0.5 → "0.5": short labels for axes and bars. */
export function short(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e4) return `${+(value / 1e3).toPrecision(3)}k`;
  if (abs >= 100) return String(Math.round(value));
  return String(+value.toPrecision(3));
}

function frame(title: string, subtitle: string | undefined, unit: string, ticks: number[], y: (v: number) => number) {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  if (subtitle) parts.push(`<text x="${M.left}" y="40" font-size="11" fill="#555">${esc(subtitle)}</text>`);
  for (const t of ticks) {
    const ty = y(t).toFixed(1);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${ty}" y2="${ty}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${M.left - 6}" y="${ty}" dy="4" font-size="11" text-anchor="end">${short(t)}</text>`);
  }
  const midY = (M.top + H - M.bottom) / 2;
  parts.push(
    `<text transform="translate(16 ${midY}) rotate(-90)" font-size="12" text-anchor="middle">${esc(unit)}</text>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`,
  );
  return parts;
}

/** Systems side by side: a bar at the median of the runs, a whisker from their min to their max. */
export function barChart(chart: BarChart): string {
  const top = Math.max(0, ...chart.groups.flatMap((g) => g.values.map((v) => v?.max ?? 0)));
  const ticks = niceTicks(top);
  const yMax = ticks[ticks.length - 1];
  const plotH = H - M.top - M.bottom;
  const y = (v: number) => H - M.bottom - (v / yMax) * plotH;
  const parts = frame(chart.title, chart.subtitle, chart.unit, ticks, y);
  const slot = (W - M.left - M.right) / Math.max(1, chart.groups.length);
  const barW = Math.min(48, (slot * 0.7) / chart.series.length);
  chart.groups.forEach((group, gi) => {
    const x0 = M.left + gi * slot + (slot - barW * chart.series.length) / 2;
    group.values.forEach((v, si) => {
      const x = x0 + si * barW;
      const cx = (x + barW / 2).toFixed(1);
      if (!v) {
        parts.push(
          `<text x="${cx}" y="${H - M.bottom - 4}" font-size="10" text-anchor="middle" fill="#999">n/a</text>`,
        );
        return;
      }
      const color = chart.series[si].color;
      parts.push(
        `<rect x="${(x + 1).toFixed(1)}" y="${y(v.median).toFixed(1)}" width="${(barW - 2).toFixed(1)}" ` +
          `height="${(H - M.bottom - y(v.median)).toFixed(1)}" fill="${color}"/>`,
        `<line x1="${cx}" x2="${cx}" y1="${y(v.min).toFixed(1)}" y2="${y(v.max).toFixed(1)}" stroke="#222" stroke-width="1.5"/>`,
        `<line x1="${(x + barW * 0.3).toFixed(1)}" x2="${(x + barW * 0.7).toFixed(1)}" y1="${y(v.min).toFixed(1)}" y2="${y(v.min).toFixed(1)}" stroke="#222"/>`,
        `<line x1="${(x + barW * 0.3).toFixed(1)}" x2="${(x + barW * 0.7).toFixed(1)}" y1="${y(v.max).toFixed(1)}" y2="${y(v.max).toFixed(1)}" stroke="#222"/>`,
        `<text x="${cx}" y="${(y(v.max) - 4).toFixed(1)}" font-size="10" text-anchor="middle">${short(v.median)}</text>`,
      );
    });
    const lx = M.left + gi * slot + slot / 2;
    const words = wrap(group.label, Math.max(8, Math.floor(slot / 6.5)));
    words.forEach((line, li) =>
      parts.push(
        `<text x="${lx.toFixed(1)}" y="${H - M.bottom + 16 + li * 13}" font-size="11" text-anchor="middle">${esc(line)}</text>`,
      ),
    );
  });
  if (chart.series.length > 1) parts.push(...legend(chart.series));
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Values over time, one polyline per series. */
export function lineChart(chart: LineChart): string {
  const xs = chart.lines.flatMap((l) => l.points.map((p) => p[0]));
  const top = Math.max(0, ...chart.lines.flatMap((l) => l.points.map((p) => p[1])));
  const ticks = niceTicks(top);
  const yMax = ticks[ticks.length - 1];
  const xTicks = niceTicks(Math.max(1e-9, ...xs), 8);
  const xMax = xTicks[xTicks.length - 1];
  const plotH = H - M.top - M.bottom;
  const plotW = W - M.left - M.right;
  const y = (v: number) => H - M.bottom - (v / yMax) * plotH;
  const x = (v: number) => M.left + (v / xMax) * plotW;
  const parts = frame(chart.title, chart.subtitle, chart.unit, ticks, y);
  for (const t of xTicks) {
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${H - M.bottom + 16}" font-size="11" text-anchor="middle">${short(t)}</text>`,
    );
  }
  parts.push(
    `<text x="${M.left + plotW / 2}" y="${H - M.bottom + 34}" font-size="12" text-anchor="middle">${esc(chart.xLabel)}</text>`,
  );
  for (const line of chart.lines) {
    const points = line.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${line.color}" stroke-width="1.6" points="${points}"/>`);
  }
  parts.push(...legend(chart.lines));
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function legend(items: { name: string; color: string }[]): string[] {
  const parts: string[] = [];
  let lx = M.left;
  const ly = H - 22;
  for (const item of items) {
    parts.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${item.color}"/>`,
      `<text x="${lx + 16}" y="${ly}" font-size="11">${esc(item.name)}</text>`,
    );
    lx += 28 + item.name.length * 6.2;
  }
  return parts;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && (line + ' ' + word).length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.slice(0, 3);
}
