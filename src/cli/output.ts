/** Where a command's results go: JSON on stdout with --json, text for people otherwise. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** The command's result: `value` itself with --json, else what `text` renders of it. */
  result<T>(value: T, text: (value: T) => string): void {
    this.stdout.write(this.json ? `${JSON.stringify(value, null, 2)}\n` : `${text(value)}\n`);
  }

  /** A remark for a person (more pages, what remains): stderr, so stdout stays the result alone. */
  note(text: string): void {
    if (!this.json) this.stderr.write(`${text}\n`);
  }

  /** A failure: `{ error }` on stdout with --json (scripts read one stream), else "code: message" on stderr. */
  error(error: { code: string; message: string }): void {
    if (this.json) this.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
    else this.stderr.write(`${error.code}: ${error.message}\n`);
  }
}

/** Left-aligned columns, two spaces apart, under upper-case headers. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `label  value` lines, values aligned; undefined values are left out. */
export function fields(entries: [string, string | number | null | undefined][]): string {
  const shown = entries.filter(([, value]) => value !== undefined);
  const width = Math.max(...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${label.padEnd(width)}  ${value ?? '-'}`).join('\n');
}

/** Indents every line of a block, for bodies and stacks under a heading. */
export function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}

/** One line of at most `max` characters (errors can be long and multi-line). */
export function clip(text: string | null, max = 60): string {
  if (text === null) return '-';
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
