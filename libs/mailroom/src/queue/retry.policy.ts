import { InvalidRequestError } from '../errors/mailroom.errors';
import { assertInteger } from '../errors/validate';

/** How long a failed delivery waits before it is offered again (the formula: retry.policy.sql.ts). */
export interface RetryPolicy {
  strategy: 'fixed' | 'exponential';
  /** The first retry's delay (and every retry's, when fixed). */
  delayMs: number;
  /** Exponential delays stop growing here. */
  maxDelayMs: number;
  /** Spread: each delay is drawn from [delay·(1−jitter), delay]; 0 disables. */
  jitter: number;
}

export const RETRY_DEFAULTS: RetryPolicy = { strategy: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.2 };

export function resolveRetryPolicy(input: unknown, field = 'retry'): RetryPolicy {
  if (input === undefined) return RETRY_DEFAULTS;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidRequestError(field, 'must be an object like { strategy, delayMs, maxDelayMs, jitter }');
  }
  for (const key of Object.keys(input)) {
    if (!(key in RETRY_DEFAULTS)) {
      throw new InvalidRequestError(`${field}.${key}`, `unknown; allowed: ${Object.keys(RETRY_DEFAULTS).join(', ')}`);
    }
  }
  const policy = { ...RETRY_DEFAULTS, ...input } as RetryPolicy;
  if (policy.strategy !== 'fixed' && policy.strategy !== 'exponential') {
    throw new InvalidRequestError(`${field}.strategy`, 'must be fixed or exponential');
  }
  assertInteger(policy.delayMs, `${field}.delayMs`, 0, 86_400_000);
  assertInteger(policy.maxDelayMs, `${field}.maxDelayMs`, policy.delayMs, 86_400_000);
  if (typeof policy.jitter !== 'number' || policy.jitter < 0 || policy.jitter > 1) {
    throw new InvalidRequestError(`${field}.jitter`, 'must be a number from 0 to 1');
  }
  return policy;
}
