import { randomUUID } from 'node:crypto';
import { InvalidRequestError } from '../errors/mailroom.errors';
import { assertInteger, assertStorableJson, assertText, MAX_DURATION_MS } from '../errors/validate';

export type Headers = Record<string, string>;

/** A message as a producer hands it over. Immutable once accepted. */
export interface OutgoingMessage<TBody = unknown> {
  body: TBody;
  headers?: Headers;
  /** Client-supplied id (uuid): sending it again within the dedup window stores nothing new. */
  id?: string;
  /** Visible to consumers only after this many ms. */
  delayMs?: number;
  /** In `grouped` ordering, messages of one group are delivered one at a time, in order. */
  groupKey?: string;
  /** Time-to-live: not delivered after this long (default: the queue's messageTtlMs). */
  ttlMs?: number;
}

/** The producer's ack: the message is committed. */
export interface SendResult {
  id: string;
  /**
   * The message's position in its queue. Null only for an idempotent producer's retry of a
   * sequence whose answer is no longer kept (older than its last 10,000) or that it skipped.
   */
  sequence: number | null;
  /**
   * True when nothing new was stored: the id was already stored within the dedup window, or
   * an idempotent producer's sequence was already sent at its epoch.
   */
  duplicate: boolean;
}

/** A delivery: the message plus the receipt that ack, nack and extend must present. */
export interface ReceivedMessage<TBody = unknown> {
  id: string;
  sequence: number;
  body: TBody;
  headers: Headers;
  groupKey: string | null;
  /** Set when the message was published to a topic with a routing key. */
  routingKey: string | null;
  deliveryCount: number;
  /** Empty for messages taken at-most-once: they are already gone from the queue. */
  receipt: string;
  /** Null for messages taken at-most-once. */
  leaseExpiresAt: Date | null;
}

/** A message checked and encoded for SEND_SQL. */
export interface EncodedMessage {
  id: string;
  clientId: boolean;
  body: string;
  headers: string;
  groupKey: string | null;
  delayMs: number;
  ttlMs: number | null;
  bytes: number;
}

const MESSAGE_FIELDS = new Set(['body', 'headers', 'id', 'delayMs', 'groupKey', 'ttlMs']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_DELAY_MS = 2_147_483_647;

/** Validates one outgoing message; `at` prefixes field names (e.g. `messages[3].`). */
export function encodeMessage(message: unknown, at = ''): EncodedMessage {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new InvalidRequestError(at ? at.slice(0, -1) : 'message', 'must be an object with a body');
  }
  // Runs once per message of every batch: plain loops, no per-message copies (W2 profile).
  for (const field in message) {
    if (!MESSAGE_FIELDS.has(field)) throw new InvalidRequestError(`${at}${field}`, 'unknown message field');
  }
  const { body, headers = {}, id, delayMs = 0, groupKey = null, ttlMs = null } = message as OutgoingMessage;
  if (body === undefined) throw new InvalidRequestError(`${at}body`, 'is required (any JSON value)');
  assertStorableJson(body, `${at}body`);
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new InvalidRequestError(`${at}headers`, 'must be an object of string values');
  }
  let noHeaders = true;
  for (const key in headers) {
    noHeaders = false;
    if (typeof headers[key] !== 'string') throw new InvalidRequestError(`${at}headers.${key}`, 'must be a string');
    assertText(key, `${at}headers`);
    assertText(headers[key], `${at}headers.${key}`);
  }
  if (id !== undefined && (typeof id !== 'string' || !UUID.test(id))) {
    throw new InvalidRequestError(`${at}id`, 'must be a uuid');
  }
  assertInteger(delayMs, `${at}delayMs`, 0, MAX_DELAY_MS);
  if (ttlMs !== null) assertInteger(ttlMs, `${at}ttlMs`, 1, MAX_DURATION_MS);
  if (groupKey !== null && (typeof groupKey !== 'string' || groupKey.length === 0 || groupKey.length > 256)) {
    throw new InvalidRequestError(`${at}groupKey`, 'must be a string of 1 to 256 characters');
  }
  if (groupKey !== null) assertText(groupKey, `${at}groupKey`);
  const encodedBody = JSON.stringify(body);
  const encodedHeaders = noHeaders ? '{}' : JSON.stringify(headers);
  return {
    id: id?.toLowerCase() ?? randomUUID(),
    clientId: id !== undefined,
    body: encodedBody,
    headers: encodedHeaders,
    groupKey,
    delayMs,
    ttlMs,
    bytes: Buffer.byteLength(encodedBody) + Buffer.byteLength(encodedHeaders),
  };
}

/** An id twice in one batch is stored once: `unique` keeps first occurrences, `firstOf` says where each id first appears. */
export function dedupeWithinBatch<M extends { id: string }>(
  encoded: M[],
): { unique: M[]; firstOf: Map<string, number> } {
  const firstOf = new Map<string, number>();
  const unique: M[] = [];
  encoded.forEach((m, i) => {
    if (firstOf.has(m.id)) return;
    firstOf.set(m.id, i);
    unique.push(m);
  });
  return { unique, firstOf };
}
