import { resolveRetryPolicy, RETRY_DEFAULTS, type RetryPolicy } from './retry.policy';
import { InvalidRequestError } from '../errors/mailroom.errors';
import { assertInteger, assertName, MAX_DURATION_MS } from '../errors/validate';

export type QueueOrdering = 'standard' | 'grouped' | 'exclusive';

export interface QueueOptions {
  /** How long a claim lasts before the reaper returns the message (ms). */
  leaseMs: number;
  /** Failed or expired deliveries after which a message is dead-lettered (or, without a DLQ, exhausted). */
  maxDeliveries: number;
  ordering: QueueOrdering;
  /** Largest accepted message: JSON body plus headers, in UTF-8 bytes. */
  maxMessageBytes: number;
  /** How long a client-supplied message id is remembered for deduplication (ms). */
  dedupWindowMs: number;
  /** Unconsumed messages older than this are dropped; null keeps them until consumed. */
  retentionMs: number | null;
  /** Where failed messages go: default `<name>.dlq` (created on demand); null keeps them here, exhausted. */
  deadLetterQueue: string | null;
  /** The delay before a failed delivery is offered again, when a nack names none. */
  retry: RetryPolicy;
  /** Default time-to-live of a message (ms); null: messages never expire. */
  messageTtlMs: number | null;
  /** Expired messages go to the DLQ (reason `expired`) instead of being dropped and counted. */
  deadLetterExpired: boolean;
}

/** Options as given: every one optional; `deadLetterQueue` absent means the default DLQ. */
export type QueueOptionsInput = Partial<QueueOptions> & { retry?: Partial<RetryPolicy> };

const DEFAULTS: Omit<QueueOptions, 'deadLetterQueue'> = {
  leaseMs: 30_000,
  maxDeliveries: 10,
  ordering: 'standard',
  maxMessageBytes: 262_144,
  dedupWindowMs: 300_000,
  retentionMs: null,
  retry: RETRY_DEFAULTS,
  messageTtlMs: null,
  deadLetterExpired: false,
};

/** A queue's options when nothing is given, for the queue named `name`. */
export function queueDefaults(name: string): QueueOptions {
  return { ...DEFAULTS, deadLetterQueue: defaultDeadLetterQueue(name) };
}

/** Default DLQ: `<name>.dlq`, except for a DLQ itself (no chains) and names too long to extend. */
export function defaultDeadLetterQueue(name: string): string | null {
  return name.endsWith('.dlq') || name.length > 124 ? null : `${name}.dlq`;
}

const QUEUE_OPTION_NAMES = [...Object.keys(DEFAULTS), 'deadLetterQueue'];
const ORDERINGS: readonly QueueOrdering[] = ['standard', 'grouped', 'exclusive'];
const INT4_MAX = 2_147_483_647;

/**
 * Merges `input` over `base` (the defaults, or a queue's current options), rejecting
 * unknown keys and out-of-range values with the option's name.
 */
export function resolveQueueOptions(
  name: string,
  input: unknown,
  base: QueueOptions = queueDefaults(name),
): QueueOptions {
  if (input === undefined) return { ...base };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidRequestError('options', 'must be an object');
  }
  const given = input as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!QUEUE_OPTION_NAMES.includes(key)) {
      throw new InvalidRequestError(key, `unknown queue option; allowed: ${QUEUE_OPTION_NAMES.join(', ')}`);
    }
  }
  const options = { ...base, ...stripUndefined(given) } as QueueOptions;
  assertInteger(options.leaseMs, 'leaseMs', 100, 12 * 3_600_000);
  assertInteger(options.maxDeliveries, 'maxDeliveries', 1, 1000);
  assertInteger(options.maxMessageBytes, 'maxMessageBytes', 1, 64 * 1024 * 1024);
  assertInteger(options.dedupWindowMs, 'dedupWindowMs', 0, INT4_MAX);
  if (options.retentionMs !== null) assertInteger(options.retentionMs, 'retentionMs', 1000, MAX_DURATION_MS);
  if (options.messageTtlMs !== null) assertInteger(options.messageTtlMs, 'messageTtlMs', 1, MAX_DURATION_MS);
  if (!ORDERINGS.includes(options.ordering)) {
    throw new InvalidRequestError('ordering', `must be one of ${ORDERINGS.join(', ')}`);
  }
  if (typeof options.deadLetterExpired !== 'boolean')
    throw new InvalidRequestError('deadLetterExpired', 'must be a boolean');
  if (options.deadLetterQueue !== null) {
    assertName(options.deadLetterQueue, 'deadLetterQueue');
    if (options.deadLetterQueue === name)
      throw new InvalidRequestError('deadLetterQueue', 'a queue cannot be its own DLQ');
  }
  // Checked before merging: spreading 5, [] or null over the current policy would accept them silently.
  const retry = given.retry;
  if (retry !== undefined && (typeof retry !== 'object' || retry === null || Array.isArray(retry))) {
    throw new InvalidRequestError('retry', 'must be an object like { strategy, delayMs, maxDelayMs, jitter }');
  }
  options.retry = resolveRetryPolicy(
    given.retry === undefined ? base.retry : { ...base.retry, ...(given.retry as object) },
  );
  return options;
}

function stripUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
