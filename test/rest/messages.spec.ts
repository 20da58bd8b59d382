import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BYTES, startBroker, statsOf, uniqueName, type TestBroker } from './broker';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function newQueue(options: object = {}): Promise<string> {
  const name = uniqueName();
  expect((await broker.call('PUT', `/v1/queues/${name}`, options)).status).toBe(201);
  return name;
}

async function bodiesIn(queue: string): Promise<unknown[]> {
  const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, { max: 100 });
  return body.messages.map((m: { body: unknown }) => m.body);
}

describe('POST /v1/queues/:name/messages', () => {
  it('stores one message: 201 { id, sequence, duplicate }', async () => {
    const queue = await newQueue();
    const reply = await broker.call('POST', `/v1/queues/${queue}/messages`, {
      body: { orderId: 1 },
      headers: { source: 'test' },
      groupKey: 'g',
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({ id: expect.stringMatching(UUID), sequence: expect.any(Number), duplicate: false });
    expect(await statsOf(broker, queue)).toMatchObject({ available: 1 });
  });

  it('delays a message by delayMs', async () => {
    const queue = await newQueue();
    await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 'later', delayMs: 60_000 });
    expect(await statsOf(broker, queue)).toMatchObject({ available: 0, delayed: 1 });
  });

  it('stores a batch in order: 201 { messages: [...] }', async () => {
    const queue = await newQueue();
    const reply = await broker.call('POST', `/v1/queues/${queue}/messages`, {
      messages: [{ body: 1 }, { body: 2 }, { body: 3 }],
    });
    expect(reply.status).toBe(201);
    expect(reply.body.messages).toHaveLength(3);
    const sequences = reply.body.messages.map((m: { sequence: number }) => m.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(await bodiesIn(queue)).toEqual([1, 2, 3]);
  });

  it('stores a batch all or nothing: one invalid message is a 400 naming it, and nothing is stored', async () => {
    const queue = await newQueue();
    const reply = await broker.call('POST', `/v1/queues/${queue}/messages`, {
      messages: [{ body: 1 }, { body: 2, delayMs: 'soon' }, { body: 3 }],
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'invalid_request', field: 'messages[1].delayMs' });
    expect(await statsOf(broker, queue)).toMatchObject({ available: 0, inFlight: 0, delayed: 0, exhausted: 0 });
  });

  it('takes 1000 messages in one batch and refuses 1001 with 400', async () => {
    const queue = await newQueue();
    const batch = (n: number) => ({ messages: Array.from({ length: n }, (_, i) => ({ body: i })) });
    const tooMany = await broker.call('POST', `/v1/queues/${queue}/messages`, batch(1001));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatchObject({ code: 'invalid_request', field: 'messages' });
    expect((await statsOf(broker, queue)).available).toBe(0);
    const full = await broker.call('POST', `/v1/queues/${queue}/messages`, batch(1000));
    expect(full.status).toBe(201);
    expect((await statsOf(broker, queue)).available).toBe(1000);
  });

  it('deduplicates a client id: the second send says duplicate and stores nothing', async () => {
    const queue = await newQueue();
    const id = randomUUID();
    const first = await broker.call('POST', `/v1/queues/${queue}/messages`, { id, body: 'first' });
    const again = await broker.call('POST', `/v1/queues/${queue}/messages`, { id, body: 'second' });
    expect(first.body).toEqual({ id, sequence: expect.any(Number), duplicate: false });
    expect(again).toEqual({ status: 201, body: { id, sequence: first.body.sequence, duplicate: true } });
    const inBatch = await broker.call('POST', `/v1/queues/${queue}/messages`, { messages: [{ id, body: 'third' }] });
    expect(inBatch.body.messages).toEqual([{ id, sequence: first.body.sequence, duplicate: true }]);
    expect(await bodiesIn(queue)).toEqual(['first']);
  });

  it('accepts sends on a paused queue', async () => {
    const queue = await newQueue();
    await broker.call('POST', `/v1/queues/${queue}/pause`);
    expect((await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 1 })).status).toBe(201);
    expect((await statsOf(broker, queue)).available).toBe(1);
  });

  it("refuses a message over the queue's maxMessageBytes with 413 message_too_large", async () => {
    const queue = await newQueue({ maxMessageBytes: 100 });
    const reply = await broker.call('POST', `/v1/queues/${queue}/messages`, {
      messages: [{ body: 'small' }, { body: 'x'.repeat(200) }],
    });
    expect(reply.status).toBe(413);
    expect(reply.body.error.code).toBe('message_too_large');
    expect((await statsOf(broker, queue)).available).toBe(0);
  });

  it('refuses a request body over the request limit with 413 message_too_large', async () => {
    const queue = await newQueue({ maxMessageBytes: 4 * MAX_REQUEST_BYTES });
    const reply = await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 'x'.repeat(MAX_REQUEST_BYTES) });
    expect(reply.status).toBe(413);
    expect(reply.body.error.code).toBe('message_too_large');
    expect(reply.body.error.message).toMatch(/MAILROOM_MAX_REQUEST_BYTES/);
    expect((await statsOf(broker, queue)).available).toBe(0);
  });

  it('is a 404 queue_not_found on an unknown queue', async () => {
    const reply = await broker.call('POST', `/v1/queues/${uniqueName('missing')}/messages`, { body: 1 });
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('queue_not_found');
  });

  it.each([
    [{}, 'body'],
    [{ body: 1, priority: 5 }, 'priority'],
    [{ body: 1, headers: { a: 1 } }, 'headers.a'],
    [{ body: 1, headers: 'x' }, 'headers'],
    [{ body: 1, id: 'not-a-uuid' }, 'id'],
    [{ body: 1, delayMs: -1 }, 'delayMs'],
    [{ body: 1, groupKey: 7 }, 'groupKey'],
    [[{ body: 1 }], 'body'],
    [{ messages: 'x' }, 'messages'],
    [{ messages: [] }, 'messages'],
    [{ messages: [{ body: 1 }], body: 2 }, 'body'],
    [{ messages: [{ body: 1 }, 5] }, 'messages[1]'],
  ])('rejects %j with 400 naming %s, storing nothing', async (body, field) => {
    const queue = await newQueue();
    const reply = await broker.call('POST', `/v1/queues/${queue}/messages`, body);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'invalid_request', field });
    expect((await statsOf(broker, queue)).available).toBe(0);
  });
});
