/** The part of a terminal stream the bar needs (a fake one in tests). */
export interface Terminal {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

/** At most this often: a terminal redrawn thousands of times a second slows the redrive it reports. */
const REDRAW_MS = 100;

/**
 * A one-line progress bar redrawn in place with "\r". Only on a terminal: in a pipe or a
 * log file the redraws would be noise, so `ProgressBar.on` gives null there.
 */
export class ProgressBar {
  private drawnAt = -Infinity;
  private drawn = false;

  private constructor(
    private readonly terminal: Terminal,
    private readonly label: string,
  ) {}

  static on(terminal: Terminal, label: string): ProgressBar | null {
    return terminal.isTTY ? new ProgressBar(terminal, label) : null;
  }

  update(done: number, total: number, now = Date.now()): void {
    if (done < total && now - this.drawnAt < REDRAW_MS) return;
    this.drawnAt = now;
    this.drawn = true;
    this.terminal.write(`\r${renderBar(this.label, done, total, this.terminal.columns || 80)}`);
  }

  /** Clears the line, so the final count printed after it stands alone. */
  finish(): void {
    if (this.drawn) this.terminal.write('\r\x1b[2K');
  }
}

/** `label [#####-----] 50/100  50%`, fitted to `columns`. */
export function renderBar(label: string, done: number, total: number, columns: number): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const count = `${done}/${total} ${String(Math.floor(ratio * 100)).padStart(3)}%`;
  const width = Math.max(10, Math.min(40, columns - label.length - count.length - 5));
  const filled = Math.round(ratio * width);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${count}`;
}
