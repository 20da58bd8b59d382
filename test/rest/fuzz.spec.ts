import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from './broker';

/**
 * The REST contract under random requests, valid and not: never a 5xx, always an answer
 * before the request's own deadline, and nothing changed by any 4xx. Requests run one
 * at a time so each 4xx can be checked against a snapshot of every Mailroom table; the
 * broker's background chores are slowed so that only requests change the tables.
 */

let broker: TestBroker;

/** Each request's deadline: the client aborts after it, and an aborted request fails the property. */
const DEADLINE_MS = 15_000;
const RUNS = 400;

beforeAll(async () => {
  broker = await startBroker({
    mailroom: { reaperIntervalMs: 600_000, janitorIntervalMs: 3_600_000, pollIntervalMs: 200 },
  });
  await broker.call('PUT', '/v1/queues/fz', {});
  await broker.call('POST', '/v1/queues/fz/messages', {
    messages: Array.from({ length: 50 }, (_, i) => ({ body: i })),
  });
  await broker.call('PUT', '/v1/topics/ft');
  await broker.call('PUT', '/v1/topics/ft/subscriptions/s', {});
});
afterAll(async () => {
  await broker?.close();
});

/** Every Mailroom table's rows, as one text per table. */
async function snapshot(): Promise<Record<string, string>> {
  const tables: { name: string }[] = await broker.db.dataSource.query(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'mailroom%'`,
  );
  const entries = await Promise.all(
    tables.map(async ({ name }) => {
      // The names come from pg_tables, not from a request; quoted as identifiers.
      const [{ rows }] = await broker.db.dataSource.query(
        `SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') AS rows FROM "${name}" t`,
      );
      return [name, rows] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** Strings PostgreSQL cannot store, beside ordinary ones. */
const nasty = fc.constantFrom('a\u0000b', '\ud800', 'x\udc00', '\u0000', '');
const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 10 }), nasty);
// Mostly names that exist, so most requests get past the look-up to the checks behind it.
const name = fc.oneof(
  { arbitrary: fc.constantFrom('fz', 'ft.s'), weight: 6 },
  { arbitrary: fc.constantFrom('fz2', 'ft', 'fz.dlq', 'nope'), weight: 1 },
  { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
);
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  text,
  fc.constantFrom(null, [], 5, -1, 2 ** 63, 1e300),
  fc.constant(deep(100)),
);
const receipt = fc.oneof(
  fc.string({ maxLength: 60 }).map((s) => Buffer.from(s).toString('base64url')),
  fc
    .tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.uuid(), fc.integer({ min: 0, max: 2 ** 31 }))
    .map(([seq, id, delivery]) => Buffer.from(`${seq}.${id}.${delivery}`).toString('base64url')),
  text,
);
/** Mostly well-typed, so the text checks behind the type checks are reached. */
const message = fc.record(
  {
    body: anyValue,
    headers: fc.dictionary(text, fc.oneof({ arbitrary: text, weight: 5 }, anyValue), { maxKeys: 2 }),
    groupKey: fc.oneof({ arbitrary: text, weight: 5 }, anyValue),
    delayMs: fc.oneof({ arbitrary: fc.nat(1000), weight: 5 }, anyValue),
  },
  { requiredKeys: ['body'] },
);
const queueOptions = fc.record(
  {
    leaseMs: anyValue,
    retry: anyValue,
    retentionMs: fc.oneof(anyValue, fc.constant(9007199254740991)),
    maxMessageBytes: anyValue,
    ordering: fc.oneof(anyValue, fc.constant('grouped')),
    deadLetterQueue: anyValue,
  },
  { requiredKeys: [] },
);

interface Request {
  method: string;
  path: string;
  body?: unknown;
}

const request: fc.Arbitrary<Request> = fc.oneof(
  fc.record({ method: fc.constant('PUT'), path: name.map((n) => `/v1/queues/${enc(n)}`), body: queueOptions }),
  fc.record({
    method: fc.constant('POST'),
    path: name.map((n) => `/v1/queues/${enc(n)}/messages`),
    body: fc.oneof(message, fc.record({ messages: fc.array(message, { maxLength: 5 }) }), anyValue),
  }),
  fc.record({
    method: fc.constant('POST'),
    path: fc.constantFrom('ack', 'nack', 'extend').map((a) => `/v1/queues/fz/${a}`),
    body: fc.record(
      { receipts: fc.oneof(fc.array(receipt, { maxLength: 3 }), anyValue), reason: text, leaseMs: anyValue },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/v1/queues/fz/receive'),
    body: fc.record({ ack: fc.array(receipt, { maxLength: 2 }), max: anyValue }, { requiredKeys: [] }),
  }),
  fc.record({
    method: fc.constant('GET'),
    path: fc
      .oneof(fc.bigInt({ min: 0n, max: 10n ** 25n }).map(String), text)
      .map((c) => `/v1/queues/fz/dead-letters?cursor=${enc(c)}`),
  }),
  fc.record({
    method: fc.constant('PUT'),
    path: name.map((n) => `/v1/topics/ft/subscriptions/${enc(n)}`),
    body: fc.record(
      { headers: fc.dictionary(text, anyValue, { maxKeys: 2 }), routingKey: anyValue, queueOptions, queue: name },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/v1/topics/ft/messages'),
    body: fc.oneof(message, fc.record({ messages: fc.array(message, { maxLength: 3 }) })),
  }),
);

function deep(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

/** A path segment; encodeURIComponent cannot encode a surrogate, so those become `?` (encoded). */
function enc(segment: string): string {
  return encodeURIComponent(segment.replace(/[\ud800-\udfff]/g, '?'));
}

describe('REST contract under random requests', () => {
  it(`answers ${RUNS} random requests without a 5xx, within their deadline, changing nothing on a 4xx`, async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, body }) => {
        const before = await snapshot();
        const reply = await broker.call(method, path, body, { signal: AbortSignal.timeout(DEADLINE_MS) });
        expect(reply.status, `${method} ${path} ${JSON.stringify(reply.body)}`).toBeLessThan(500);
        if (reply.status >= 400) {
          expect(reply.body.error.code, 'the error shape').toEqual(expect.any(String));
          expect(await snapshot(), `${method} ${path} changed state answering ${reply.status}`).toEqual(before);
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
