import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/wait';
import { longPollsWaiting, startBroker, statsOf, uniqueName, type TestBroker } from './broker';
import { bearer } from '../support/auth';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

interface Delivery {
  id: string;
  sequence: number;
  body: unknown;
  receipt: string;
  deliveryCount: number;
  leaseExpiresAt: string;
}

async function queueWith(...bodies: unknown[]): Promise<string> {
  const name = uniqueName();
  await broker.call('PUT', `/v1/queues/${name}`, {});
  if (bodies.length > 0) {
    await broker.call('POST', `/v1/queues/${name}/messages`, { messages: bodies.map((body) => ({ body })) });
  }
  return name;
}

async function receive(queue: string, request: object = {}): Promise<Delivery[]> {
  const reply = await broker.call('POST', `/v1/queues/${queue}/receive`, request);
  expect(reply.status).toBe(200);
  return reply.body.messages;
}

describe('POST /v1/queues/:name/receive', () => {
  it('leases messages: 200 { messages: [{ id, sequence, body, headers, deliveryCount, receipt, leaseExpiresAt }] }', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    const sent = await broker.call('POST', `/v1/queues/${queue}/messages`, { body: { n: 1 }, headers: { h: 'v' } });
    const before = Date.now();
    const reply = await broker.call('POST', `/v1/queues/${queue}/receive`, { leaseMs: 60_000 });
    expect(reply).toEqual({
      status: 200,
      body: {
        messages: [
          {
            id: sent.body.id,
            sequence: sent.body.sequence,
            body: { n: 1 },
            headers: { h: 'v' },
            groupKey: null,
            routingKey: null,
            deliveryCount: 1,
            receipt: expect.any(String),
            leaseExpiresAt: expect.any(String),
          },
        ],
      },
    });
    const expiresIn = Date.parse(reply.body.messages[0].leaseExpiresAt) - before;
    expect(expiresIn).toBeGreaterThan(50_000);
    expect(await statsOf(broker, queue)).toMatchObject({ available: 0, inFlight: 1 });
  });

  it('delivers nothing from a paused queue, and everything once resumed', async () => {
    const queue = await queueWith('held');
    await broker.call('POST', `/v1/queues/${queue}/pause`);
    expect(await broker.call('POST', `/v1/queues/${queue}/receive`, {})).toEqual({
      status: 200,
      body: { messages: [] },
    });
    expect((await statsOf(broker, queue)).available).toBe(1);
    await broker.call('POST', `/v1/queues/${queue}/resume`);
    expect((await receive(queue)).map((m) => m.body)).toEqual(['held']);
  });

  it('stops a long-poll whose client disconnected, so it claims nothing for nobody', async () => {
    const queue = await queueWith();
    const abandoned = new AbortController();
    const request = fetch(`${broker.url}/v1/queues/${queue}/receive`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: JSON.stringify({ waitMs: 10_000 }),
      signal: abandoned.signal,
    }).catch(() => 'aborted');
    await until(async () => (await longPollsWaiting(broker, queue)) === 1);
    abandoned.abort();
    expect(await request).toBe('aborted');
    // The broker has seen the disconnect once the long-poll stopped waiting.
    await until(async () => (await longPollsWaiting(broker, queue)) === 0);
    await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 'for the next reader' });
    const [message] = await receive(queue, { waitMs: 1000 });
    expect(message).toMatchObject({ body: 'for the next reader', deliveryCount: 1 });
  });

  it('is a 404 queue_not_found on an unknown queue', async () => {
    const reply = await broker.call('POST', `/v1/queues/${uniqueName('missing')}/receive`, {});
    expect(reply).toMatchObject({ status: 404, body: { error: { code: 'queue_not_found' } } });
  });
});

describe('bad input is a 400 naming the field, and changes nothing', () => {
  let queue: string;
  let held: Delivery;

  beforeAll(async () => {
    queue = await queueWith('held', 'waiting');
    [held] = await receive(queue, { leaseMs: 60_000 });
  });

  const cases: [string, unknown, string][] = [
    ['receive', { max: 'x' }, 'max'],
    ['receive', { max: 0 }, 'max'],
    ['receive', { max: 101 }, 'max'],
    ['receive', { max: 1.5 }, 'max'],
    ['receive', { max: null }, 'max'],
    ['receive', { waitMs: 20_001 }, 'waitMs'],
    ['receive', { waitMs: '100' }, 'waitMs'],
    ['receive', { leaseMs: 1 }, 'leaseMs'],
    ['receive', { consumer: 5 }, 'consumer'],
    ['receive', { consumer: 'no spaces' }, 'consumer'],
    ['receive', { maxMessages: 5 }, 'maxMessages'],
    ['receive', [], 'body'],
    ['receive', { ack: 'abc' }, 'ack'],
    ['receive', { ack: ['not-a-receipt'] }, 'ack[0]'],
    ['ack', {}, 'receipts'],
    ['ack', { receipts: 5 }, 'receipts'],
    ['ack', { receipts: [] }, 'receipts'],
    ['ack', { receipts: [5] }, 'receipts[0]'],
    ['ack', { receipts: ['not-a-receipt'] }, 'receipts[0]'],
    ['ack', { receipts: 'abc' }, 'receipts'],
    ['ack', [], 'body'],
    ['nack', { receipts: null }, 'receipts'],
    ['nack', { receipts: '$held', delayMs: 'x' }, 'delayMs'],
    ['nack', { receipts: '$held', delayMs: -1 }, 'delayMs'],
    ['nack', { receipts: '$held', reason: 42 }, 'reason'],
    ['nack', { receipts: '$held', requeue: true }, 'requeue'],
    ['nack', { receipts: '$held', deadLetter: 'yes' }, 'deadLetter'],
    ['extend', { receipts: '$held' }, 'leaseMs'],
    ['extend', { receipts: '$held', leaseMs: 'x' }, 'leaseMs'],
    ['extend', { receipts: '$held', leaseMs: 10 }, 'leaseMs'],
    ['extend', { receipts: {}, leaseMs: 1000 }, 'receipts'],
  ];

  it.each(cases)('%s %j → 400 on %s', async (action, request, field) => {
    // '$held' stands for the live receipt, so only the field under test is wrong.
    const body = JSON.parse(JSON.stringify(request).replace('"$held"', JSON.stringify([held.receipt])));
    const reply = await broker.call('POST', `/v1/queues/${queue}/${action}`, body);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'invalid_request', field });
    expect(await statsOf(broker, queue)).toMatchObject({ available: 1, inFlight: 1, delayed: 0, exhausted: 0 });
  });

  it('left the held delivery intact: its receipt still acks', async () => {
    const reply = await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: [held.receipt] });
    expect(reply).toEqual({ status: 200, body: { acked: 1 } });
  });

  it.each(['ack', 'nack'])('%s on an unknown queue is 404 queue_not_found', async (action) => {
    const reply = await broker.call('POST', `/v1/queues/${uniqueName('missing')}/${action}`, {
      receipts: [held.receipt],
    });
    expect(reply).toMatchObject({ status: 404, body: { error: { code: 'queue_not_found' } } });
  });
});
