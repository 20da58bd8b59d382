import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/wait';
import { startBroker, statsOf, uniqueName, type TestBroker } from './broker';
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

  it('takes one message by default and up to max', async () => {
    const queue = await queueWith(1, 2, 3, 4);
    expect((await receive(queue)).map((m) => m.body)).toEqual([1]);
    expect((await receive(queue, { max: 10 })).map((m) => m.body)).toEqual([2, 3, 4]);
    expect(await receive(queue)).toEqual([]);
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

  it('long-polls: a message sent during the wait is returned at once, not at waitMs', async () => {
    const queue = await queueWith();
    const started = Date.now();
    const polling = receive(queue, { waitMs: 10_000 });
    await sleep(300);
    await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 'wake' });
    const messages = await polling;
    expect(messages.map((m) => m.body)).toEqual(['wake']);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('long-polls until waitMs when nothing arrives', async () => {
    const queue = await queueWith();
    const started = Date.now();
    expect(await receive(queue, { waitMs: 500 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
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
    await sleep(200);
    abandoned.abort();
    expect(await request).toBe('aborted');
    await sleep(200);
    await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 'for the next reader' });
    const [message] = await receive(queue, { waitMs: 1000 });
    expect(message).toMatchObject({ body: 'for the next reader', deliveryCount: 1 });
  });

  it('is a 404 queue_not_found on an unknown queue', async () => {
    const reply = await broker.call('POST', `/v1/queues/${uniqueName('missing')}/receive`, {});
    expect(reply).toMatchObject({ status: 404, body: { error: { code: 'queue_not_found' } } });
  });
});

describe('ack, nack, extend', () => {
  it('acks: 200 { acked }, and the messages are gone', async () => {
    const queue = await queueWith(1, 2);
    const messages = await receive(queue, { max: 2 });
    const reply = await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: messages.map((m) => m.receipt) });
    expect(reply).toEqual({ status: 200, body: { acked: 2 } });
    expect(await statsOf(broker, queue)).toMatchObject({ available: 0, inFlight: 0, delayed: 0, exhausted: 0 });
  });

  it('nacks: 200 { nacked }; the message returns after delayMs, by default after the retry policy', async () => {
    const queue = await queueWith('now', 'by policy');
    const [now, byPolicy] = await receive(queue, { max: 2 });
    const reply = await broker.call('POST', `/v1/queues/${queue}/nack`, {
      receipts: [now.receipt],
      delayMs: 0,
      reason: 'boom',
    });
    expect(reply).toEqual({ status: 200, body: { nacked: 1 } });
    await broker.call('POST', `/v1/queues/${queue}/nack`, { receipts: [byPolicy.receipt] });
    expect(await statsOf(broker, queue)).toMatchObject({ available: 1, delayed: 1, inFlight: 0 });
    const [again] = await receive(queue);
    expect(again).toMatchObject({ id: now.id, body: 'now', deliveryCount: 2 });
  });

  it('nacks with deadLetter: the message goes to the dead-letter queue at once', async () => {
    const queue = await queueWith('poison');
    const [message] = await receive(queue);
    const reply = await broker.call('POST', `/v1/queues/${queue}/nack`, {
      receipts: [message.receipt],
      deadLetter: true,
    });
    expect(reply).toEqual({ status: 200, body: { nacked: 1 } });
    expect(await statsOf(broker, queue)).toMatchObject({ available: 0, delayed: 0, inFlight: 0 });
    const [dead] = await receive(`${queue}.dlq`);
    expect(dead.body).toBe('poison');
  });

  it('extends: 200 { leaseExpiresAt } at least leaseMs from now', async () => {
    const queue = await queueWith('slow');
    const [message] = await receive(queue, { leaseMs: 1000 });
    const before = Date.now();
    const reply = await broker.call('POST', `/v1/queues/${queue}/extend`, {
      receipts: [message.receipt],
      leaseMs: 120_000,
    });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body)).toEqual(['leaseExpiresAt']);
    expect(Date.parse(reply.body.leaseExpiresAt) - before).toBeGreaterThan(110_000);
  });

  it('rejects a receipt of an earlier delivery with 409 lease_lost, changing nothing', async () => {
    const queue = await queueWith('redelivered', 'other');
    const [first, other] = await receive(queue, { max: 2 });
    await broker.call('POST', `/v1/queues/${queue}/nack`, { receipts: [first.receipt], delayMs: 0 });
    const [second] = await receive(queue);
    expect(second).toMatchObject({ id: first.id, deliveryCount: 2 });
    const staleRequests = {
      ack: { receipts: [first.receipt] },
      nack: { receipts: [first.receipt] },
      extend: { receipts: [first.receipt], leaseMs: 60_000 },
      'ack with a live receipt': { receipts: [other.receipt, first.receipt] },
    };
    for (const [action, body] of Object.entries(staleRequests)) {
      const reply = await broker.call('POST', `/v1/queues/${queue}/${action.split(' ')[0]}`, body);
      expect(reply.status, action).toBe(409);
      expect(reply.body.error, action).toMatchObject({ code: 'lease_lost', receipts: [first.receipt] });
    }
    expect(await statsOf(broker, queue)).toMatchObject({ available: 0, inFlight: 2 });
    const live = { receipts: [second.receipt, other.receipt] };
    expect((await broker.call('POST', `/v1/queues/${queue}/ack`, live)).body).toEqual({ acked: 2 });
  });

  it('acks with the next receive: { ack } settles the batch and claims more in one call, or 409 and neither', async () => {
    const queue = await queueWith(1, 2, 3, 4);
    const first = await receive(queue, { max: 2 });
    const next = await receive(queue, { max: 2, ack: first.map((m) => m.receipt) });
    expect(next.map((m) => m.body)).toEqual([3, 4]);
    expect(await statsOf(broker, queue)).toMatchObject({ available: 0, inFlight: 2 });
    const stale = await broker.call('POST', `/v1/queues/${queue}/receive`, { ack: [first[0].receipt] });
    expect(stale).toMatchObject({ status: 409, body: { error: { code: 'lease_lost', receipts: [first[0].receipt] } } });
    expect(await receive(queue, { ack: next.map((m) => m.receipt) })).toEqual([]);
    expect(await statsOf(broker, queue)).toMatchObject({ available: 0, inFlight: 0 });
  });

  it('rejects a receipt whose lease expired with 409 lease_lost; the message is delivered again', async () => {
    const queue = await queueWith('expiring');
    const [message] = await receive(queue, { leaseMs: 200 });
    await sleep(600);
    const reply = await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: [message.receipt] });
    expect(reply).toMatchObject({ status: 409, body: { error: { code: 'lease_lost' } } });
    const [again] = await receive(queue);
    expect(again).toMatchObject({ id: message.id, deliveryCount: 2 });
  });
});

describe('a lease belongs to the client that received it', () => {
  it("redelivers a crashed client's messages to a sibling polling under the same consumer name", async () => {
    const queue = await queueWith(1, 2, 3);
    const crashed = await receive(queue, { consumer: 'replicas', max: 3, leaseMs: 1_000 });
    expect(crashed).toHaveLength(3);
    // The sibling's empty polls, past half of the crashed client's lease, do not move its deadline.
    for (let i = 0; i < 3; i += 1) expect(await receive(queue, { consumer: 'replicas', waitMs: 200 })).toEqual([]);
    const after = await broker.call('POST', `/v1/queues/${queue}/extend`, {
      receipts: [crashed[0].receipt],
      leaseMs: 100,
    });
    expect(after.body.leaseExpiresAt).toBe(crashed[0].leaseExpiresAt);
    const redelivered = new Map<string, Delivery>();
    await until(async () => {
      for (const m of await receive(queue, { consumer: 'replicas', max: 3, waitMs: 200 })) redelivered.set(m.id, m);
      return redelivered.size === 3;
    }, 15_000);
    expect([...redelivered.values()].map((m) => [m.id, m.deliveryCount]).sort()).toEqual(
      crashed.map((m) => [m.id, 2]).sort(),
    );
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
