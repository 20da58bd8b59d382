import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit';

describe('group commit', () => {
  it('sends a lone write at once and coalesces writes that wait behind it', async () => {
    const statements: number[][] = [];
    let release: () => void = () => undefined;
    const group = new GroupCommit<number, string>(async (_key, items) => {
      statements.push(items);
      if (statements.length === 1) await new Promise<void>((r) => (release = r));
      return items.map((n) => `ok ${n}`);
    }, 1);
    const first = group.submit('q', [0]);
    const rest = [1, 2, 3].map((n) => group.submit('q', [n]));
    expect(statements).toEqual([[0]]);
    release();
    expect(await first).toEqual(['ok 0']);
    expect(await Promise.all(rest)).toEqual([['ok 1'], ['ok 2'], ['ok 3']]);
    expect(statements).toEqual([[0], [1, 2, 3]]);
  });

  it('fails every caller of a failed statement, and only those', async () => {
    const group = new GroupCommit<number, number>(async (_key, items) => {
      if (items.includes(13)) throw new Error('boom');
      return items;
    }, 1);
    const results = await Promise.allSettled([group.submit('q', [1]), group.submit('q', [13]), group.submit('r', [2])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('keeps each statement within maxItems', async () => {
    const sizes: number[] = [];
    const group = new GroupCommit<number, number>(
      async (_key, items) => {
        sizes.push(items.length);
        await new Promise((r) => setTimeout(r, 5));
        return items;
      },
      1,
      10,
    );
    await Promise.all(Array.from({ length: 30 }, (_, i) => group.submit('q', [i, i])));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
  });
});
