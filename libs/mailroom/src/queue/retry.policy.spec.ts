import { describe, expect, it } from 'vitest';
import { resolveRetryPolicy, retryDelay } from './retry.policy';

describe('retry policy', () => {
  it('doubles exponential delays up to the maximum', () => {
    const policy = resolveRetryPolicy({ delayMs: 100, maxDelayMs: 1_000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 50].map((n) => retryDelay(policy, n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('keeps fixed delays fixed and spreads them by jitter', () => {
    const policy = resolveRetryPolicy({ strategy: 'fixed', delayMs: 1_000, jitter: 0.5 });
    expect(retryDelay(policy, 7, () => 0)).toBe(1_000);
    expect(retryDelay(policy, 7, () => 1)).toBe(500);
  });

  it('names the bad field', () => {
    expect(() => resolveRetryPolicy({ strategy: 'linear' })).toThrow(/retry.strategy/);
    expect(() => resolveRetryPolicy({ delayMs: 10, maxDelayMs: 5 })).toThrow(/retry.maxDelayMs/);
    expect(() => resolveRetryPolicy({ tries: 3 })).toThrow(/retry.tries/);
  });
});
