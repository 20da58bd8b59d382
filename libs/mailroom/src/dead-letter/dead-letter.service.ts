import type { DataSource } from 'typeorm';
import { query } from '../database/transaction';
import { InvalidRequestError, QueueNotFoundError } from '../errors/mailroom.errors';
import { assertInteger, assertName } from '../errors/validate';
import type { Headers } from '../message/message';
import {
  COUNT_DEAD_LETTERS_SQL,
  LIST_DEAD_LETTERS_SQL,
  PURGE_DEAD_LETTERS_BATCH_SQL,
  REDRIVE_BATCH_SQL,
} from './dead-letter.sql';

/** `workflow_not_found`: a workflow's message whose instance never started (after bounded retries). */
import type { DeadLetterReason } from '../errors/mailroom.errors';
import { pause } from '../database/pause';

export type { DeadLetterReason };
const REASONS: readonly DeadLetterReason[] = [
  'max_deliveries',
  'rejected',
  'lease_expired',
  'expired',
  'workflow_not_found',
];

export interface DeadLetter {
  id: string;
  /** Its sequence in the dead-letter queue (the paging cursor). */
  sequence: number;
  body: unknown;
  headers: Headers;
  /** The queue it failed in, and the DLQ it lies in. */
  queue: string;
  deadLetterQueue: string;
  reason: DeadLetterReason;
  deliveryCount: number;
  error: string | null;
  stack: string | null;
  consumer: string | null;
  firstFailedAt: string;
  lastFailedAt: string;
  deadLetteredAt: string;
}

/** Which dead letters of a queue an operation applies to: some ids, or all (optionally of one reason). */
export interface DeadLetterFilter {
  ids?: string[];
  all?: boolean;
  reason?: DeadLetterReason;
}

export interface RedriveOptions extends DeadLetterFilter {
  /** Where to: default the queue they failed in. */
  to?: string;
  /** Throttle: at most this many messages a second. */
  ratePerSecond?: number;
  /** Move at most this many (a caller showing progress moves a slice at a time). */
  limit?: number;
  /** Called after each batch with the running total. */
  onProgress?: (moved: number) => void;
  /** Stops between batches (each batch is committed whole); the answer says what moved. */
  signal?: AbortSignal;
}

const BATCH = 1_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Inspecting, redriving and purging dead letters. Moves run as a series of bounded
 * one-statement batches, each its own transaction: a redrive of 10,000 holds no long
 * transaction and no lock for longer than one batch.
 */
export class DeadLetterService {
  constructor(private readonly dataSource: DataSource) {}

  async list(
    queue: string,
    page: { limit?: number; cursor?: string; reason?: string } = {},
  ): Promise<{ deadLetters: DeadLetter[]; nextCursor: string | null }> {
    assertName(queue);
    const limit = page.limit ?? 50;
    assertInteger(limit, 'limit', 1, 1_000);
    const reason = page.reason === undefined ? null : assertReason(page.reason);
    // A cursor is a bigint sequence: one past 2^63-1 would fail the statement, not the request.
    if (page.cursor !== undefined && !(/^\d{1,19}$/.test(page.cursor) && BigInt(page.cursor) < 2n ** 63n)) {
      throw new InvalidRequestError('cursor', 'must be a cursor returned by a previous page');
    }
    const rows = await query<Record<string, never>>(this.dataSource.manager, LIST_DEAD_LETTERS_SQL, [
      queue,
      null,
      reason,
      page.cursor ?? null,
      limit,
    ]);
    const deadLetters = rows.map(toDeadLetter);
    const nextCursor = rows.length === limit ? String(rows[rows.length - 1].seq) : null;
    return { deadLetters, nextCursor };
  }

  async get(queue: string, id: string): Promise<DeadLetter | null> {
    assertName(queue);
    const rows = await query<Record<string, never>>(this.dataSource.manager, LIST_DEAD_LETTERS_SQL, [
      queue,
      checkIds([id], 'id'),
      null,
      null,
      1,
    ]);
    return rows.length > 0 ? toDeadLetter(rows[0]) : null;
  }

  async count(queue: string, filter: DeadLetterFilter = { all: true }): Promise<number> {
    const [ids, reason] = this.filter(queue, filter);
    const [{ count }] = await query<{ count: number }>(this.dataSource.manager, COUNT_DEAD_LETTERS_SQL, [
      queue,
      ids,
      reason,
    ]);
    return count;
  }

  /** Moves dead letters back (to their queue, or `to`), attempts reset, with an audit header. */
  async redrive(queue: string, options: RedriveOptions): Promise<{ moved: number }> {
    const [ids, reason] = this.filter(queue, options);
    const to = options.to ?? queue;
    assertName(to, 'to');
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    assertInteger(limit, 'limit', 1, Number.MAX_SAFE_INTEGER);
    const rate = options.ratePerSecond;
    if (rate !== undefined) assertInteger(rate, 'ratePerSecond', 1, 1_000_000);
    const batchSize = Math.min(BATCH, rate ?? BATCH);
    const started = Date.now();
    let moved = 0;
    while (moved < limit && !options.signal?.aborted) {
      const size = Math.min(batchSize, limit - moved);
      const [row] = await query<{ moved: number; target_exists: boolean }>(this.dataSource.manager, REDRIVE_BATCH_SQL, [
        queue,
        ids,
        reason,
        size,
        to,
      ]);
      if (!row.target_exists) throw new QueueNotFoundError(to);
      moved += row.moved;
      options.onProgress?.(moved);
      if (row.moved < size) break;
      if (rate !== undefined) {
        const due = started + (moved / rate) * 1_000;
        if (due > Date.now()) await pause(due - Date.now(), options.signal);
      }
    }
    return { moved };
  }

  async purge(queue: string, filter: DeadLetterFilter): Promise<{ purged: number }> {
    const [ids, reason] = this.filter(queue, filter);
    let purged = 0;
    for (;;) {
      const [row] = await query<{ purged: number }>(this.dataSource.manager, PURGE_DEAD_LETTERS_BATCH_SQL, [
        queue,
        ids,
        reason,
        BATCH,
      ]);
      purged += row.purged;
      if (row.purged < BATCH) return { purged };
    }
  }

  /** An empty filter is refused: moving or deleting every dead letter must be asked for with `all: true`. */
  private filter(queue: string, filter: DeadLetterFilter): [string[] | null, string | null] {
    assertName(queue);
    const { ids, all, reason } = filter ?? {};
    if (ids !== undefined && all !== undefined)
      throw new InvalidRequestError('all', 'give either ids or all, not both');
    if (ids === undefined && all !== true) throw new InvalidRequestError('ids', 'give ids, or all: true');
    return [ids === undefined ? null : checkIds(ids, 'ids'), reason === undefined ? null : assertReason(reason)];
  }
}

function checkIds(ids: unknown, field: string): string[] {
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > 10_000 ||
    !ids.every((id) => typeof id === 'string' && UUID.test(id))
  ) {
    throw new InvalidRequestError(field, 'must be a non-empty array of message ids (uuids), at most 10000');
  }
  return ids.map((id: string) => id.toLowerCase());
}

export function isDeadLetterReason(reason: unknown): reason is DeadLetterReason {
  return REASONS.includes(reason as DeadLetterReason);
}

function assertReason(reason: unknown): DeadLetterReason {
  if (!isDeadLetterReason(reason)) {
    throw new InvalidRequestError('reason', `must be one of ${REASONS.join(', ')}`);
  }
  return reason as DeadLetterReason;
}

function toDeadLetter(row: Record<string, never>): DeadLetter {
  const info = row.dead_letter as Record<string, never>;
  return {
    id: row.id,
    sequence: Number(row.seq),
    body: row.body,
    headers: row.headers,
    queue: info.queue,
    deadLetterQueue: row.dead_letter_queue,
    reason: info.reason,
    deliveryCount: info.deliveryCount,
    error: info.error ?? null,
    stack: info.stack ?? null,
    consumer: info.consumer ?? null,
    firstFailedAt: info.firstFailedAt,
    lastFailedAt: info.lastFailedAt,
    deadLetteredAt: info.deadLetteredAt,
  };
}
