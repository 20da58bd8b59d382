import { resolveRetryPolicy, type RetryPolicy } from '../queue/retry.policy';
import { assertInteger, assertName } from '../errors/validate';
import type { OutboxDestinationConfig } from './outbox.destination';

export interface OutboxOptions {
  /** Named external destinations: a Nest ClientProxy, `{ client, record }`, or a webhook `{ url }`. */
  destinations: Record<string, OutboxDestinationConfig>;
  /** Keys hash into this many ranges, each relayed by one node at a time (default 16). Keep it fixed. */
  buckets?: number;
  /** Rows relayed per transaction (default 20). */
  batchSize?: number;
  /** Failed attempts before a row moves to the outbox dead-letter table (default 10). */
  maxAttempts?: number;
  /** Delay between attempts (default exponential from 1 s to 5 min). */
  retry?: Partial<RetryPolicy>;
  /** Longest a single delivery may take before it counts as failed (default 10000 ms). */
  deliveryTimeoutMs?: number;
  /** Fallback poll for retries that come due (default 1000 ms); new rows wake the relay at once. */
  pollIntervalMs?: number;
}

export type ResolvedOutboxOptions = Required<Omit<OutboxOptions, 'retry'>> & { retry: RetryPolicy };

export function resolveOutboxOptions(options: OutboxOptions | undefined): ResolvedOutboxOptions | null {
  if (!options) return null;
  const resolved = {
    buckets: 16,
    batchSize: 20,
    maxAttempts: 10,
    deliveryTimeoutMs: 10_000,
    pollIntervalMs: 1_000,
    ...options,
    retry: resolveRetryPolicy({ delayMs: 1_000, maxDelayMs: 300_000, ...options.retry }, 'outbox.retry'),
  };
  for (const name of Object.keys(resolved.destinations ?? {})) assertName(name, 'outbox.destinations');
  assertInteger(resolved.buckets, 'outbox.buckets', 1, 1_024);
  assertInteger(resolved.batchSize, 'outbox.batchSize', 1, 1_000);
  assertInteger(resolved.maxAttempts, 'outbox.maxAttempts', 1, 1_000);
  assertInteger(resolved.deliveryTimeoutMs, 'outbox.deliveryTimeoutMs', 1, 600_000);
  assertInteger(resolved.pollIntervalMs, 'outbox.pollIntervalMs', 10, 600_000);
  return resolved;
}
