import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit';

const never = () => false;

describe('group commit', () => {
  it('sends a lone write at once and coalesces writes that wait behind it', async () => {
    const statements: number[][] = [];
    let release: () => void = () => undefined;
    const group = new GroupCommit<number, string>(
      async (_key, items) => {
        statements.push(items);
        if (statements.length === 1) await new Promise<void>((r) => (release = r));
        return items.map((n) => `ok ${n}`);
      },
      never,
      1,
    );
    const first = group.submit('q', [0]);
    const rest = [1, 2, 3].map((n) => group.submit('q', [n]));
    expect(statements).toEqual([[0]]);
    release();
    expect(await first).toEqual(['ok 0']);
    expect(await Promise.all(rest)).toEqual([['ok 1'], ['ok 2'], ['ok 3']]);
    expect(statements).toEqual([[0], [1, 2, 3]]);
  });

  it('fails every caller of a failed statement, and only those', async () => {
    const group = new GroupCommit<number, number>(
      async (_key, items) => {
        if (items.includes(13)) throw new Error('boom');
        return items;
      },
      never,
      1,
    );
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
      never,
      1,
      10,
    );
    await Promise.all(Array.from({ length: 30 }, (_, i) => group.submit('q', [i, i])));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
  });

  it('writes the members of a refused group alone, so only the one at fault fails', async () => {
    const statements: number[][] = [];
    let release: () => void = () => undefined;
    const group = new GroupCommit<number, number>(
      async (_key, items) => {
        statements.push(items);
        if (statements.length === 1) await new Promise<void>((r) => (release = r));
        if (items.includes(13)) throw new Error('refused');
        return items;
      },
      (error) => (error as Error).message === 'refused',
      1,
    );
    const first = group.submit('q', [0]);
    const grouped = [1, 13, 2].map((n) => group.submit('q', [n]));
    release();
    await first;
    const results = await Promise.allSettled(grouped);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(statements[1]).toEqual([1, 13, 2]);
  });

  it('fails the whole group when the failure may have committed it (no retry, no duplicates)', async () => {
    let release: () => void = () => undefined;
    let calls = 0;
    const group = new GroupCommit<number, number>(
      async (_key, items) => {
        calls += 1;
        if (calls === 1) await new Promise<void>((r) => (release = r));
        if (items.length > 1) throw new Error('connection lost');
        return items;
      },
      never,
      1,
    );
    const first = group.submit('q', [0]);
    const grouped = [1, 2].map((n) => group.submit('q', [n]));
    release();
    await first;
    const results = await Promise.allSettled(grouped);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(2);
  });
});
