import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, statsOf, uniqueName, type TestBroker } from './broker';

/** Every bad input answers 4xx naming the field, and changes nothing. */

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

const NUL = 'a\u0000b';
const LONE_HIGH = 'a\ud800b';
const LONE_LOW = '\udc00';

async function queueWith(...bodies: unknown[]): Promise<string> {
  const name = uniqueName();
  await broker.call('PUT', `/v1/queues/${name}`, {});
  if (bodies.length > 0) {
    await broker.call('POST', `/v1/queues/${name}/messages`, { messages: bodies.map((body) => ({ body })) });
  }
  return name;
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i += 1) value = i % 2 ? [value] : { v: value };
  return value;
}

const messageCount = async (queue: string) => {
  const stats = await statsOf(broker, queue);
  return stats.available + stats.inFlight + stats.delayed;
};

describe('one bad request among many', () => {
  it('refuses a NUL body with 400 and stores all 40 concurrent honest sends beside it', async () => {
    const queue = await queueWith();
    const honest = Array.from({ length: 40 }, (_, i) =>
      broker.call('POST', `/v1/queues/${queue}/messages`, { body: i }),
    );
    const bad = broker.call('POST', `/v1/queues/${queue}/messages`, { body: { text: NUL } });
    const more = Array.from({ length: 40 }, (_, i) =>
      broker.call('POST', `/v1/queues/${queue}/messages`, { body: 40 + i }),
    );
    const replies = await Promise.all([...honest, bad, ...more]);
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(80);
    expect((await bad).status).toBe(400);
    expect((await bad).body.error).toMatchObject({ code: 'invalid_request', field: 'body' });
    expect(await messageCount(queue)).toBe(80);
  });
});

describe('text PostgreSQL cannot store', () => {
  it.each([
    ['a NUL in the body', { body: NUL }, 'body'],
    ['a lone high surrogate in a nested body', { body: { a: [LONE_HIGH] } }, 'body'],
    ['a lone low surrogate in a body key', { body: { [LONE_LOW]: 1 } }, 'body'],
    ['a NUL in a header value', { body: 1, headers: { h: NUL } }, 'headers.h'],
    ['a NUL in a header name', { body: 1, headers: { [NUL]: 'v' } }, 'headers'],
    ['a lone surrogate in groupKey', { body: 1, groupKey: LONE_HIGH }, 'groupKey'],
    ['a NUL in a batch message', { messages: [{ body: 1 }, { body: NUL }] }, 'messages[1].body'],
  ])('refuses %s with 400 naming the field, storing nothing', async (_case, request, field) => {
    const queue = await queueWith();
    const reply = await broker.call('POST', `/v1/queues/${queue}/messages`, request);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'invalid_request', field });
    expect(await messageCount(queue)).toBe(0);
  });

  it('refuses a nack reason with NUL, leaving the delivery held', async () => {
    const queue = await queueWith('x');
    const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, {});
    const receipts = [body.messages[0].receipt];
    const reply = await broker.call('POST', `/v1/queues/${queue}/nack`, { receipts, reason: NUL });
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('reason');
    expect(await statsOf(broker, queue)).toMatchObject({ inFlight: 1, available: 0 });
    expect((await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts })).status).toBe(200);
  });

  it('refuses a publish with a lone surrogate, delivering nothing', async () => {
    const topic = uniqueName('t');
    await broker.call('PUT', `/v1/topics/${topic}`);
    await broker.call('PUT', `/v1/topics/${topic}/subscriptions/s`, {});
    const reply = await broker.call('POST', `/v1/topics/${topic}/messages`, { body: { a: LONE_LOW } });
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('body');
    expect(await messageCount(`${topic}.s`)).toBe(0);
  });

  it('refuses a subscription header filter with NUL before creating its queue or DLQ', async () => {
    const topic = uniqueName('t');
    await broker.call('PUT', `/v1/topics/${topic}`);
    const reply = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/s`, { headers: { h: NUL } });
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('headers.h');
    expect((await broker.call('GET', `/v1/queues/${topic}.s`)).status).toBe(404);
    expect((await broker.call('GET', `/v1/queues/${topic}.s.dlq`)).status).toBe(404);
  });
});

describe('bodies nested too deep', () => {
  it.each([5_000, 200_000])('refuses a body nested %i deep with 400 (the limit is 64 levels)', async (depth) => {
    const queue = await queueWith();
    // Written out by hand: JSON.stringify itself runs out of stack on such a value.
    const raw = `{"body":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const reply = await broker.call('POST', `/v1/queues/${queue}/messages`, undefined, {
      body: raw,
      headers: { 'content-type': 'application/json' },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('body');
    expect(await messageCount(queue)).toBe(0);
  });

  it('stores a body 64 levels deep', async () => {
    const queue = await queueWith();
    expect((await broker.call('POST', `/v1/queues/${queue}/messages`, { body: nested(64) })).status).toBe(201);
    expect((await broker.call('POST', `/v1/queues/${queue}/messages`, { body: nested(65) })).status).toBe(400);
  });
});

describe('receipts that Mailroom did not issue', () => {
  const encode = (text: string) => Buffer.from(text).toString('base64url');
  const uuid = '0b3c9f8e-4a4b-4c4d-8e8f-0123456789ab';
  const forged = [
    ['a sequence past 2^63-1', encode(`9223372036854775808.${uuid}.1`)],
    ['a sequence of 19 nines', encode(`9999999999999999999.${uuid}.1`)],
    ['an id that looks like a uuid but is not', encode(`1.${'-'.repeat(36)}.1`)],
    ['an id with dashes misplaced', encode(`1.0b3c9f8e4-a4b-4c4d-8e8f-0123456789ab.1`)],
  ];

  it.each(forged)('refuses %s on ack, nack, extend and receive ack, with 400', async (_case, receipt) => {
    const queue = await queueWith('x');
    const calls = [
      ['ack', { receipts: [receipt] }, 'receipts[0]'],
      ['nack', { receipts: [receipt] }, 'receipts[0]'],
      ['extend', { receipts: [receipt], leaseMs: 1000 }, 'receipts[0]'],
      ['receive', { ack: [receipt] }, 'ack[0]'],
    ] as const;
    for (const [action, request, field] of calls) {
      const reply = await broker.call('POST', `/v1/queues/${queue}/${action}`, request);
      expect(reply.status, action).toBe(400);
      expect(reply.body.error.field, action).toBe(field);
    }
    expect(await statsOf(broker, queue)).toMatchObject({ available: 1, inFlight: 0 });
  });

  it('refuses a real receipt with trailing garbage, and accepts it intact', async () => {
    const queue = await queueWith('x');
    const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, {});
    const receipt: string = body.messages[0].receipt;
    for (const garbage of ['!!', '==', '.x', ' ']) {
      const reply = await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: [receipt + garbage] });
      expect(reply.status, garbage).toBe(400);
    }
    expect(await statsOf(broker, queue)).toMatchObject({ inFlight: 1 });
    expect((await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: [receipt] })).body).toEqual({ acked: 1 });
  });
});

describe('dead-letter cursors', () => {
  it('refuses a cursor beyond bigint with 400', async () => {
    const queue = await queueWith();
    const reply = await broker.call('GET', `/v1/queues/${queue}/dead-letters?cursor=9223372036854775808`);
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('cursor');
    expect((await broker.call('GET', `/v1/queues/${queue}/dead-letters?cursor=9223372036854775807`)).status).toBe(200);
  });
});

describe('queue options of the wrong type or beyond what PostgreSQL represents', () => {
  it.each([
    [{ retry: 5 }, 'retry'],
    [{ retry: [] }, 'retry'],
    [{ retry: null }, 'retry'],
    [{ retry: 'fixed' }, 'retry'],
    [{ leaseMs: null }, 'leaseMs'],
    [{ ordering: [] }, 'ordering'],
    [{ deadLetterExpired: 'yes' }, 'deadLetterExpired'],
    [{ retentionMs: 9007199254740991 }, 'retentionMs'],
    [{ messageTtlMs: 9007199254740991 }, 'messageTtlMs'],
  ])('refuses %j with 400 naming %s, changing nothing', async (options, field) => {
    const queue = await queueWith();
    const before = (await broker.call('GET', `/v1/queues/${queue}`)).body.options;
    const reply = await broker.call('PUT', `/v1/queues/${queue}`, options);
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe(field);
    expect((await broker.call('GET', `/v1/queues/${queue}`)).body.options).toEqual(before);
  });

  it('refuses a message ttlMs beyond 100 years', async () => {
    const queue = await queueWith();
    const reply = await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 1, ttlMs: 9007199254740991 });
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('ttlMs');
  });
});
