/**
 * Server-side HTML with escaping by default: every interpolated value is escaped unless
 * it is already Html (built by `html` itself), so queue names, headers and bodies that
 * users control cannot inject markup.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escape(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

type Part = Html | string | number | boolean | null | undefined | Part[];

function render(part: Part): string {
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join('');
  if (part === null || part === undefined || part === false) return '';
  return escape(part);
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]) : ''), ''));
}

/** A path segment for a link: names may hold any character. */
export const seg = (value: string) => encodeURIComponent(value);

/**
 * A small inline SVG line of `values` (oldest first) scaled to its own maximum, over a
 * baseline, with the latest value as a dot (so one sample still shows) and as a tooltip.
 */
export function sparkline(values: number[], label: string): Html {
  const [width, height] = [120, 24];
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const y = (v: number) => (height - 2 - (v / max) * (height - 4)).toFixed(1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${y(v)}`).join(' ');
  const last = values.at(-1);
  return html`<svg
    class="spark"
    role="img"
    aria-label="${label}"
    width="${width}"
    height="${height}"
    viewBox="-3 0 ${width + 6} ${height}"
  >
    <title>${label}: ${last ?? 'no data yet'}</title>
    <line x1="0" x2="${width}" y1="${height - 2}" y2="${height - 2}" stroke="#cbd5e1" />
    <polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="${points}" />
    ${last === undefined ? '' : html`<circle cx="${((values.length - 1) * step).toFixed(1)}" cy="${y(last)}" r="2.5" fill="#2563eb" />`}
  </svg>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#111;background:#f8fafc}
header{background:#1e293b;color:#fff;padding:.6rem 1rem;display:flex;gap:1.2rem;align-items:center}
header a{color:#cbd5e1;text-decoration:none}header a:hover{color:#fff}header strong{margin-right:1rem}
main{padding:1rem 1.5rem;max-width:1200px}
table{border-collapse:collapse;background:#fff;margin:.5rem 0 1.5rem;width:100%}
th,td{border:1px solid #e2e8f0;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f1f5f9;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{margin:0;white-space:pre-wrap;word-break:break-all;max-height:8em;overflow:auto;font-size:12px}
.muted{color:#64748b}.notice{background:#ecfdf5;border:1px solid #34d399;padding:.5rem 1rem;margin:.5rem 0}
.warn{background:#fef2f2;border:1px solid #f87171;padding:.75rem 1rem;margin:.5rem 0}
form.inline{display:inline}button{padding:.3rem .8rem;cursor:pointer}button.danger{background:#dc2626;color:#fff;border:0}
.state{display:inline-block;border:1px solid #94a3b8;border-radius:6px;padding:.2rem .5rem;margin:.15rem;background:#fff}
.state.active{background:#fde68a;border-color:#d97706;font-weight:600}
ul.tree{list-style:none;padding-left:1.2rem;margin:.2rem 0}
`;

export function page(title: string, body: Html, notice?: string): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>${title} · Mailroom</title>
        <style>
          ${new Html(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <strong>Mailroom</strong><a href="/dashboard">Queues</a><a href="/dashboard/topics">Topics</a
          ><a href="/dashboard/consumers">Consumers</a><a href="/dashboard/workflows">Workflows</a>
        </header>
        <main>
          <h1>${title}</h1>
          ${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}${body}
        </main>
      </body>
    </html>`.text;
}
