import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { query, type TransactionOptions } from '../database/transaction';
import { traceContextHeaders } from '../observability/tracing';
import { InvalidRequestError } from '../errors/mailroom.errors';
import { OUTBOX_INSERT_SQL } from './outbox.sql';

export interface OutboxEmitOptions extends TransactionOptions {
  /** Rows of one key are relayed in order (default: "" — the destination's one ordered stream). */
  key?: string;
}

/**
 * The write side of the outbox for one destination: rows land in the caller's
 * transaction, so the message leaves if and only if the caller's work committed. A row
 * keeps the active trace context, which its delivery continues (see traceRelay).
 */
export class Outbox {
  constructor(
    private readonly manager: EntityManager,
    readonly destination: string,
    private readonly buckets: number,
  ) {}

  async emit(pattern: string, data: unknown, options: OutboxEmitOptions = {}): Promise<{ id: string }> {
    const key = options.key ?? '';
    if (typeof pattern !== 'string' || pattern.length === 0)
      throw new InvalidRequestError('pattern', 'must be a non-empty string');
    if (typeof key !== 'string' || key.length > 255)
      throw new InvalidRequestError('key', 'must be a string of at most 255 characters');
    if (data === undefined) throw new InvalidRequestError('data', 'is required (any JSON value)');
    const id = randomUUID();
    await query(options.manager ?? this.manager, OUTBOX_INSERT_SQL, [
      this.destination,
      key,
      bucketOf(key, this.buckets),
      id,
      pattern,
      JSON.stringify(data),
      traceContextHeaders(),
    ]);
    return { id };
  }
}

/** FNV-1a: a stable hash, so a key always falls in the same bucket (and so keeps its order). */
export function bucketOf(key: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % buckets;
}
