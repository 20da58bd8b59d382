import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, statsOf, uniqueName, type TestBroker } from './broker';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

async function init(id: string, body?: object): Promise<number> {
  const reply = await broker.call('POST', `/v1/producers/${id}/init`, body);
  expect(reply).toEqual({ status: 200, body: { id, epoch: expect.any(Number) } });
  return reply.body.epoch;
}

async function newQueue(): Promise<string> {
  const queue = uniqueName();
  await broker.call('PUT', `/v1/queues/${queue}`, {});
  return queue;
}

const send = (queue: string, request: object) => broker.call('POST', `/v1/queues/${queue}/messages`, request);

describe('POST /v1/producers/:id/init', () => {
  it('starts epoch 1, and each init after it a higher epoch', async () => {
    const id = uniqueName('producer');
    expect(await init(id)).toBe(1);
    expect(await init(id, { rejectGaps: true })).toBe(2);
  });

  it.each([
    [{ rejectGaps: 'yes' }, 'rejectGaps'],
    [{ epoch: 3 }, 'epoch'],
    [[], 'body'],
  ])('rejects %j with 400 naming %s', async (body, field) => {
    const reply = await broker.call('POST', `/v1/producers/${uniqueName('producer')}/init`, body);
    expect(reply).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field } } });
  });

  it('rejects a producer id that is not a valid name', async () => {
    const reply = await broker.call('POST', '/v1/producers/no%20spaces/init');
    expect(reply).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'producer' } } });
  });
});

describe('sending with producer: { id, epoch, sequence }', () => {
  it('answers a retried sequence with the original { id, sequence } and duplicate: true, storing once', async () => {
    const queue = await newQueue();
    const id = uniqueName('producer');
    const epoch = await init(id);
    const request = { body: 'once', producer: { id, epoch, sequence: 0 } };
    const first = await send(queue, request);
    expect(first).toEqual({
      status: 201,
      body: { id: expect.any(String), sequence: expect.any(Number), duplicate: false },
    });
    const retry = await send(queue, request);
    expect(retry).toEqual({ status: 201, body: { ...first.body, duplicate: true } });
    expect((await statsOf(broker, queue)).available).toBe(1);
  });

  it('recognises a retried sequence on a queue without a dedup window', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, { dedupWindowMs: 0 });
    const id = uniqueName('producer');
    const epoch = await init(id);
    const request = { body: 'once', producer: { id, epoch, sequence: 0 } };
    const first = await send(queue, request);
    expect(await send(queue, request)).toEqual({ status: 201, body: { ...first.body, duplicate: true } });
    expect((await statsOf(broker, queue)).available).toBe(1);
  });

  it('gives a batch sequence, sequence + 1, …: an overlapping retry stores only the new ones', async () => {
    const queue = await newQueue();
    const id = uniqueName('producer');
    const epoch = await init(id);
    const first = await send(queue, { messages: [{ body: 0 }, { body: 1 }], producer: { id, epoch, sequence: 0 } });
    expect(first.status).toBe(201);
    const overlapping = await send(queue, {
      messages: [{ body: 1 }, { body: 2 }],
      producer: { id, epoch, sequence: 1 },
    });
    expect(overlapping.status).toBe(201);
    expect(overlapping.body.messages).toEqual([
      { ...first.body.messages[1], duplicate: true },
      { id: expect.any(String), sequence: expect.any(Number), duplicate: false },
    ]);
    const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, { max: 10 });
    expect(body.messages.map((m: { body: number }) => m.body)).toEqual([0, 1, 2]);
  });

  it('fences an older epoch after a re-init: 409 producer_fenced, nothing stored', async () => {
    const queue = await newQueue();
    const id = uniqueName('producer');
    const zombie = await init(id);
    expect((await send(queue, { body: 'before', producer: { id, epoch: zombie, sequence: 0 } })).status).toBe(201);
    const current = await init(id);
    for (const request of [
      { body: 'zombie', producer: { id, epoch: zombie, sequence: 1 } },
      { messages: [{ body: 'zombie' }], producer: { id, epoch: zombie, sequence: 1 } },
    ]) {
      const reply = await send(queue, request);
      expect(reply).toMatchObject({ status: 409, body: { error: { code: 'producer_fenced' } } });
      expect(reply.body.error.message).toMatch(new RegExp(`fenced by epoch ${current}`));
    }
    expect((await send(queue, { body: 'current', producer: { id, epoch: current, sequence: 0 } })).status).toBe(201);
    const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, { max: 10 });
    expect(body.messages.map((m: { body: string }) => m.body)).toEqual(['before', 'current']);
  });

  it('refuses a producer that was never initialised with 409 producer_fenced', async () => {
    const queue = await newQueue();
    const reply = await send(queue, { body: 1, producer: { id: uniqueName('ghost'), epoch: 1, sequence: 0 } });
    expect(reply).toMatchObject({ status: 409, body: { error: { code: 'producer_fenced' } } });
    expect(reply.body.error.message).toMatch(/init/);
    expect((await statsOf(broker, queue)).available).toBe(0);
  });

  it('refuses a gap with rejectGaps (409 sequence_gap), and accepts one without', async () => {
    const queue = await newQueue();
    const strict = uniqueName('strict');
    const strictEpoch = await init(strict, { rejectGaps: true });
    expect((await send(queue, { body: 0, producer: { id: strict, epoch: strictEpoch, sequence: 0 } })).status).toBe(
      201,
    );
    const gap = await send(queue, { body: 2, producer: { id: strict, epoch: strictEpoch, sequence: 2 } });
    expect(gap).toMatchObject({ status: 409, body: { error: { code: 'sequence_gap' } } });
    expect(gap.body.error.message).toMatch(/expected sequence 1/);
    expect((await statsOf(broker, queue)).available).toBe(1);

    const lenient = uniqueName('lenient');
    const lenientEpoch = await init(lenient);
    const skipped = await send(queue, { body: 5, producer: { id: lenient, epoch: lenientEpoch, sequence: 5 } });
    expect(skipped.status).toBe(201);
    expect((await statsOf(broker, queue)).available).toBe(2);
  });

  it.each([
    [{ body: 1, producer: 'p' }, 'producer'],
    [{ body: 1, producer: null }, 'producer'],
    [{ body: 1, producer: { id: 'p', epoch: 'x', sequence: 0 } }, 'producer.epoch'],
    [{ body: 1, producer: { id: 'p', epoch: 1, sequence: -1 } }, 'producer.sequence'],
    [{ body: 1, producer: { id: 'no spaces', epoch: 1, sequence: 0 } }, 'producer.id'],
    [{ body: 1, producer: { id: 'p', epoch: 1, sequence: 0, extra: 1 } }, 'producer.extra'],
    [{ producer: { id: '$id', epoch: 1, sequence: 0 } }, 'body'],
    [{ body: 1, delayMs: 'soon', producer: { id: '$id', epoch: 1, sequence: 0 } }, 'delayMs'],
    [
      { messages: [{ body: 1, delayMs: 'soon' }], producer: { id: '$id', epoch: 1, sequence: 0 } },
      'messages[0].delayMs',
    ],
  ])('rejects %j with 400 naming %s, storing nothing', async (request, field) => {
    const queue = await newQueue();
    // '$id' stands for an initialised producer, so only the field under test is wrong.
    const id = uniqueName('producer');
    await init(id);
    const reply = await send(queue, JSON.parse(JSON.stringify(request).replace('"$id"', JSON.stringify(id))));
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'invalid_request', field });
    expect((await statsOf(broker, queue)).available).toBe(0);
  });
});
