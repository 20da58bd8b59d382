import { describe, expect, it } from 'vitest';
import { resolveRetryPolicy, RETRY_DEFAULTS } from './retry.policy';

describe('retry policy', () => {
  it('fills what is not given from the defaults', () => {
    expect(resolveRetryPolicy(undefined)).toEqual(RETRY_DEFAULTS);
    expect(resolveRetryPolicy({ strategy: 'fixed', delayMs: 10 })).toEqual({
      ...RETRY_DEFAULTS,
      strategy: 'fixed',
      delayMs: 10,
    });
  });

  it('names the bad field', () => {
    expect(() => resolveRetryPolicy({ strategy: 'linear' })).toThrow(/retry.strategy/);
    expect(() => resolveRetryPolicy({ delayMs: 10, maxDelayMs: 5 })).toThrow(/retry.maxDelayMs/);
    expect(() => resolveRetryPolicy({ tries: 3 })).toThrow(/retry.tries/);
  });
});
