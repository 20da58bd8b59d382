import { InvalidRequestError } from './mailroom.errors';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

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
 * The longest duration option (retention, time-to-live): 100 years. `now() ± duration`
 * must stay a timestamp PostgreSQL can represent, or the statement using it fails
 * ("timestamp out of range") for every queue it touches.
 */
export const MAX_DURATION_MS = 3_155_760_000_000;

/** How deep a message body may nest: deep enough for any real document, far from Postgres' stack limit. */
export const MAX_BODY_DEPTH = 64;

const TEXT_REASON = 'must not contain NUL (\\u0000) or unpaired surrogate characters (PostgreSQL cannot store them)';

/** NUL, or a UTF-16 surrogate without its partner: jsonb and text refuse both. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/** `value` without what Postgres cannot store: for the library's own records of errors, which must not fail a write. */
export function storableText(value: string): string {
  return value.replace(UNSTORABLE_ALL, '');
}

/** Text Postgres can store. */
export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

export function assertText(value: string, field: string): void {
  if (!isStorableText(value)) throw new InvalidRequestError(field, TEXT_REASON);
}

/**
 * A JSON value jsonb accepts: every string and key storable text, nested at most
 * MAX_BODY_DEPTH deep. Checked before a message joins a group commit, so it can only
 * fail its own send.
 */
export function assertStorableJson(value: unknown, field: string, depth = 0): void {
  if (typeof value === 'string') return assertText(value, field);
  if (typeof value !== 'object' || value === null) return;
  if (depth >= MAX_BODY_DEPTH) throw new InvalidRequestError(field, `must nest at most ${MAX_BODY_DEPTH} levels deep`);
  if (Array.isArray(value)) {
    for (const item of value) assertStorableJson(item, field, depth + 1);
    return;
  }
  for (const key in value) {
    assertText(key, field);
    assertStorableJson((value as Record<string, unknown>)[key], field, depth + 1);
  }
}
