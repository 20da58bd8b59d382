import { InvalidRequestError } from '../errors/mailroom.errors';

export type QueueOrdering = 'standard' | 'grouped' | 'exclusive';

export interface QueueOptions {
  /** How long a claim lasts before the reaper returns the message (ms). */
  leaseMs: number;
  /** Failed or expired deliveries after which a message is exhausted. */
  maxDeliveries: number;
  ordering: QueueOrdering;
  /** Largest accepted message: JSON body plus headers, in UTF-8 bytes. */
  maxMessageBytes: number;
  /** How long a client-supplied message id is remembered for deduplication (ms). */
  dedupWindowMs: number;
  /** Unconsumed messages older than this are dropped; null keeps them until consumed. */
  retentionMs: number | null;
}

export const QUEUE_DEFAULTS: QueueOptions = {
  leaseMs: 30_000,
  maxDeliveries: 10,
  ordering: 'standard',
  maxMessageBytes: 262_144,
  dedupWindowMs: 300_000,
  retentionMs: null,
};

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ORDERINGS: readonly QueueOrdering[] = ['standard', 'grouped', 'exclusive'];
const INT4_MAX = 2_147_483_647;

/** Names become part of REST paths and NOTIFY payloads; they are never spliced into SQL. */
export function assertName(name: unknown, field = 'name'): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidRequestError(field, `must match ${NAME.source}`);
  }
}

export function assertInteger(value: unknown, field: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidRequestError(field, `must be an integer from ${min} to ${max}`);
  }
}

/**
 * Merges `input` over `base` (the defaults, or a queue's current options), rejecting
 * unknown keys and out-of-range values with the option's name.
 */
export function resolveQueueOptions(input: unknown, base: QueueOptions = QUEUE_DEFAULTS): QueueOptions {
  if (input === undefined || input === null) return { ...base };
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidRequestError('options', 'must be an object');
  }
  const given = input as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(key in QUEUE_DEFAULTS)) {
      throw new InvalidRequestError(key, `unknown queue option; allowed: ${Object.keys(QUEUE_DEFAULTS).join(', ')}`);
    }
  }
  const options = { ...base, ...stripUndefined(given) } as QueueOptions;
  assertInteger(options.leaseMs, 'leaseMs', 100, 12 * 3_600_000);
  assertInteger(options.maxDeliveries, 'maxDeliveries', 1, 1000);
  assertInteger(options.maxMessageBytes, 'maxMessageBytes', 1, 64 * 1024 * 1024);
  assertInteger(options.dedupWindowMs, 'dedupWindowMs', 0, INT4_MAX);
  if (options.retentionMs !== null) assertInteger(options.retentionMs, 'retentionMs', 1000, Number.MAX_SAFE_INTEGER);
  if (!ORDERINGS.includes(options.ordering)) {
    throw new InvalidRequestError('ordering', `must be one of ${ORDERINGS.join(', ')}`);
  }
  return options;
}

function stripUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
