import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueWithDeadLetters, startBroker, statsOf, uniqueName, type TestBroker } from './broker';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

const path = (queue: string, suffix = '') => `/v1/queues/${queue}/dead-letters${suffix}`;

async function listAll(queue: string, query = ''): Promise<any[]> {
  const { status, body } = await broker.call('GET', path(queue, query));
  expect(status).toBe(200);
  return body.deadLetters;
}

describe('GET /v1/queues/:name/dead-letters', () => {
  it('lists dead letters oldest first, with why and how they failed', async () => {
    const queue = await queueWithDeadLetters(broker, 2);
    const reply = await broker.call('GET', path(queue));
    expect(reply.status).toBe(200);
    expect(reply.body.nextCursor).toBeNull();
    expect(reply.body.deadLetters).toEqual(
      [0, 1].map((body) => ({
        id: expect.any(String),
        sequence: expect.any(Number),
        body,
        headers: {},
        queue,
        deadLetterQueue: `${queue}.dlq`,
        reason: 'rejected',
        deliveryCount: 1,
        error: 'boom',
        stack: null,
        consumer: 'default',
        firstFailedAt: expect.any(String),
        lastFailedAt: expect.any(String),
        deadLetteredAt: expect.any(String),
      })),
    );
  });

  it('pages with limit and nextCursor', async () => {
    const queue = await queueWithDeadLetters(broker, 5);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const { body } = await broker.call('GET', path(queue, query));
      expect(body.deadLetters.length).toBeLessThanOrEqual(2);
      seen.push(...body.deadLetters.map((d: { body: number }) => d.body));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('filters by reason', async () => {
    const queue = uniqueName('dl');
    await broker.call('PUT', `/v1/queues/${queue}`, { maxDeliveries: 1 });
    await broker.call('POST', `/v1/queues/${queue}/messages`, { messages: [{ body: 'spent' }, { body: 'rejected' }] });
    const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, { max: 2 });
    const [spent, rejected] = body.messages.map((m: { receipt: string }) => m.receipt);
    await broker.call('POST', `/v1/queues/${queue}/nack`, { receipts: [spent] });
    await broker.call('POST', `/v1/queues/${queue}/nack`, { receipts: [rejected], deadLetter: true });
    expect((await listAll(queue, '?reason=max_deliveries')).map((d) => d.body)).toEqual(['spent']);
    expect((await listAll(queue, '?reason=rejected')).map((d) => d.body)).toEqual(['rejected']);
    expect(await listAll(queue, '?reason=expired')).toEqual([]);
  });

  it('is an empty page for a queue without dead letters, and 404 queue_not_found for an unknown one', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    expect(await broker.call('GET', path(queue))).toEqual({ status: 200, body: { deadLetters: [], nextCursor: null } });
    const unknown = await broker.call('GET', path(uniqueName('missing')));
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'queue_not_found' } } });
  });

  it.each([
    ['?limit=abc', 'limit'],
    ['?limit=0', 'limit'],
    ['?limit=1001', 'limit'],
    ['?limit=1&limit=2', 'limit'],
    ['?cursor=abc', 'cursor'],
    ['?reason=bored', 'reason'],
    ['?reasn=rejected', 'reasn'],
  ])('rejects %s with 400 naming %s', async (query, field) => {
    const queue = await queueWithDeadLetters(broker, 1);
    const reply = await broker.call('GET', path(queue, query));
    expect(reply).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field } } });
  });
});

describe('GET /v1/queues/:name/dead-letters/:id', () => {
  it('returns one dead letter', async () => {
    const queue = await queueWithDeadLetters(broker, 2);
    const [, second] = await listAll(queue);
    expect(await broker.call('GET', path(queue, `/${second.id}`))).toEqual({ status: 200, body: second });
  });

  it('is 404 dead_letter_not_found for an id that is not a dead letter of the queue', async () => {
    const queue = await queueWithDeadLetters(broker, 1);
    const other = await queueWithDeadLetters(broker, 1);
    const [elsewhere] = await listAll(other);
    for (const id of [randomUUID(), elsewhere.id]) {
      const reply = await broker.call('GET', path(queue, `/${id}`));
      expect(reply).toMatchObject({ status: 404, body: { error: { code: 'dead_letter_not_found' } } });
      expect(reply.body.error.message).toContain(id);
    }
  });

  it('is 404 queue_not_found on an unknown queue, and 400 on an id that is not a uuid', async () => {
    const missing = await broker.call('GET', path(uniqueName('missing'), `/${randomUUID()}`));
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'queue_not_found' } } });
    const queue = await queueWithDeadLetters(broker, 1);
    const bad = await broker.call('GET', path(queue, '/not-a-uuid'));
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'id' } } });
  });
});

describe('POST /v1/queues/:name/dead-letters/redrive', () => {
  it('moves the given ids back to their queue as fresh messages: 200 { moved, remaining }', async () => {
    const queue = await queueWithDeadLetters(broker, 3);
    const [first, , third] = await listAll(queue);
    const reply = await broker.call('POST', path(queue, '/redrive'), { ids: [first.id, third.id] });
    expect(reply).toEqual({ status: 200, body: { moved: 2, remaining: 0 } });
    expect((await listAll(queue)).map((d) => d.body)).toEqual([1]);
    const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, { max: 10 });
    expect(body.messages).toMatchObject([
      { id: first.id, body: 0, deliveryCount: 1, headers: { 'mailroom-redriven-from': `${queue}.dlq` } },
      { id: third.id, body: 2, deliveryCount: 1 },
    ]);
  });

  it('moves a slice at a time with limit, and reports what remains', async () => {
    const queue = await queueWithDeadLetters(broker, 5);
    expect((await broker.call('POST', path(queue, '/redrive'), { all: true, limit: 2 })).body).toEqual({
      moved: 2,
      remaining: 3,
    });
    expect((await broker.call('POST', path(queue, '/redrive'), { all: true, limit: 10 })).body).toEqual({
      moved: 3,
      remaining: 0,
    });
    expect((await statsOf(broker, queue)).available).toBe(5);
  });

  it('moves only dead letters of the given reason', async () => {
    const queue = await queueWithDeadLetters(broker, 2);
    expect((await broker.call('POST', path(queue, '/redrive'), { all: true, reason: 'expired' })).body).toEqual({
      moved: 0,
      remaining: 0,
    });
    expect((await broker.call('POST', path(queue, '/redrive'), { all: true, reason: 'rejected' })).body.moved).toBe(2);
  });

  it('moves to another queue with `to`; an unknown `to` is 404 and moves nothing', async () => {
    const queue = await queueWithDeadLetters(broker, 2);
    const missing = await broker.call('POST', path(queue, '/redrive'), { all: true, to: 'no-such-queue' });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'queue_not_found' } } });
    expect(missing.body.error.message).toContain('no-such-queue');
    expect(await listAll(queue)).toHaveLength(2);
    const target = uniqueName('retry');
    await broker.call('PUT', `/v1/queues/${target}`, {});
    expect((await broker.call('POST', path(queue, '/redrive'), { all: true, to: target })).body).toEqual({
      moved: 2,
      remaining: 0,
    });
    expect((await statsOf(broker, target)).available).toBe(2);
    expect((await statsOf(broker, queue)).available).toBe(0);
  });

  it('is 404 queue_not_found on an unknown queue', async () => {
    const reply = await broker.call('POST', path(uniqueName('missing'), '/redrive'), { all: true });
    expect(reply).toMatchObject({ status: 404, body: { error: { code: 'queue_not_found' } } });
  });

  it.each([
    [{}, 'ids'],
    [{ all: false }, 'ids'],
    [{ ids: [] }, 'ids'],
    [{ ids: ['not-a-uuid'] }, 'ids'],
    [{ ids: [5] }, 'ids[0]'],
    [{ ids: '$id', all: true }, 'all'],
    [{ all: 'yes' }, 'all'],
    [{ all: true, reason: 'bored' }, 'reason'],
    [{ all: true, limit: 0 }, 'limit'],
    [{ all: true, limit: 'x' }, 'limit'],
    [{ all: true, ratePerSecond: 0 }, 'ratePerSecond'],
    [{ all: true, to: 'no spaces' }, 'to'],
    [{ all: true, dryRun: true }, 'dryRun'],
    [[], 'body'],
  ])('rejects %j with 400 naming %s, moving nothing', async (request, field) => {
    const queue = await queueWithDeadLetters(broker, 1);
    const [dead] = await listAll(queue);
    const body = JSON.parse(JSON.stringify(request).replace('"$id"', JSON.stringify([dead.id])));
    const reply = await broker.call('POST', path(queue, '/redrive'), body);
    expect(reply).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field } } });
    expect(await listAll(queue)).toHaveLength(1);
  });
});

describe('POST /v1/queues/:name/dead-letters/purge', () => {
  it('deletes the given ids, then all: 200 { purged }', async () => {
    const queue = await queueWithDeadLetters(broker, 3);
    const [first] = await listAll(queue);
    expect(await broker.call('POST', path(queue, '/purge'), { ids: [first.id] })).toEqual({
      status: 200,
      body: { purged: 1 },
    });
    expect((await listAll(queue)).map((d) => d.body)).toEqual([1, 2]);
    expect(await broker.call('POST', path(queue, '/purge'), { all: true })).toEqual({
      status: 200,
      body: { purged: 2 },
    });
    expect(await listAll(queue)).toEqual([]);
    expect((await statsOf(broker, `${queue}.dlq`)).available).toBe(0);
  });

  it.each([[{}], [{ all: false }], [undefined], [{ reason: 'rejected' }]])(
    'refuses the empty filter %j with 400, deleting nothing',
    async (request) => {
      const queue = await queueWithDeadLetters(broker, 2);
      const reply = await broker.call('POST', path(queue, '/purge'), request);
      expect(reply).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'ids' } } });
      expect(await listAll(queue)).toHaveLength(2);
    },
  );

  it('is 404 queue_not_found on an unknown queue', async () => {
    const reply = await broker.call('POST', path(uniqueName('missing'), '/purge'), { all: true });
    expect(reply).toMatchObject({ status: 404, body: { error: { code: 'queue_not_found' } } });
  });
});
