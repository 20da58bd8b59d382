import { describe, expect, it } from 'vitest';
import { ProgressBar, renderBar, type Terminal } from '../../src/cli/progress';

function terminal(isTTY: boolean): Terminal & { written: string[] } {
  const written: string[] = [];
  return { isTTY, columns: 80, written, write: (text) => written.push(text) > 0 };
}

describe('renderBar', () => {
  it('shows the share done as a bar, a count and a percentage', () => {
    expect(renderBar('Redriving q', 50, 100, 80)).toBe(`Redriving q [${'#'.repeat(20)}${'-'.repeat(20)}] 50/100  50%`);
    expect(renderBar('q', 0, 0, 80)).toMatch(/\[#+\] 0\/0 100%$/);
  });

  it('fits a narrow terminal', () => {
    expect(renderBar('Redriving q', 1, 3, 40).length).toBeLessThanOrEqual(40);
  });
});

describe('ProgressBar', () => {
  it('draws nothing when stderr is not a terminal', () => {
    expect(ProgressBar.on(terminal(false), 'x')).toBeNull();
  });

  it('redraws in place at most every 100 ms, always at the end, then clears its line', () => {
    const tty = terminal(true);
    const bar = ProgressBar.on(tty, 'Redriving q')!;
    bar.update(100, 1000, 0);
    bar.update(200, 1000, 50);
    bar.update(300, 1000, 150);
    bar.update(1000, 1000, 160);
    bar.finish();
    expect(tty.written).toEqual([
      `\r${renderBar('Redriving q', 100, 1000, 80)}`,
      `\r${renderBar('Redriving q', 300, 1000, 80)}`,
      `\r${renderBar('Redriving q', 1000, 1000, 80)}`,
      '\r\x1b[2K',
    ]);
  });
});
