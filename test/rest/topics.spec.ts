import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, statsOf, uniqueName, type TestBroker } from './broker';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

async function newTopic(...subscriptions: [string, object?][]): Promise<string> {
  const topic = uniqueName('topic');
  expect((await broker.call('PUT', `/v1/topics/${topic}`)).status).toBe(201);
  for (const [name, options] of subscriptions) {
    const reply = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/${name}`, options ?? {});
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  }
  return topic;
}

/** Receives and acks everything in a queue, returning the deliveries. */
async function drain(queue: string): Promise<any[]> {
  const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, { max: 100 });
  if (body.messages.length > 0) {
    await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: body.messages.map((m: any) => m.receipt) });
  }
  return body.messages;
}

const bodies = async (queue: string) => (await drain(queue)).map((m) => m.body);

describe('topics', () => {
  it('PUT creates (201), then finds it existing (200); GET returns { name, subscriptions }', async () => {
    const topic = uniqueName('topic');
    expect(await broker.call('PUT', `/v1/topics/${topic}`)).toEqual({
      status: 201,
      body: { name: topic, subscriptions: [] },
    });
    await broker.call('PUT', `/v1/topics/${topic}/subscriptions/audit`);
    const again = await broker.call('PUT', `/v1/topics/${topic}`, {});
    expect(again.status).toBe(200);
    expect(again.body.subscriptions.map((s: { name: string }) => s.name)).toEqual(['audit']);
    expect(await broker.call('GET', `/v1/topics/${topic}`)).toEqual({ status: 200, body: again.body });
  });

  it('lists topics with their subscriptions: { topics: [...] }', async () => {
    const topic = await newTopic(['b'], ['a']);
    const { status, body } = await broker.call('GET', '/v1/topics');
    expect(status).toBe(200);
    const listed = body.topics.find((t: { name: string }) => t.name === topic);
    expect(listed.subscriptions.map((s: { name: string }) => s.name)).toEqual(['a', 'b']);
  });

  it('refuses a body with fields on PUT, and a bad name', async () => {
    const topic = uniqueName('topic');
    const withField = await broker.call('PUT', `/v1/topics/${topic}`, { retention: 1 });
    expect(withField).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'retention' } } });
    expect((await broker.call('GET', `/v1/topics/${topic}`)).status).toBe(404);
    const badName = await broker.call('PUT', '/v1/topics/bad%20name');
    expect(badName).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    const badGet = await broker.call('GET', '/v1/topics/bad%20name');
    expect(badGet).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'topic' } } });
  });
});

describe('subscriptions', () => {
  it('PUT subscribes with its own queue "<topic>.<name>" (201), then updates the filter (200)', async () => {
    const topic = await newTopic();
    const created = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/billing`, {
      routingKey: 'orders.*',
      queueOptions: { leaseMs: 5000 },
    });
    expect(created).toEqual({
      status: 201,
      body: {
        name: 'billing',
        topic,
        queue: `${topic}.billing`,
        routingKey: 'orders.*',
        headers: {},
        state: 'active',
      },
    });
    expect((await broker.call('GET', `/v1/queues/${topic}.billing`)).body.options.leaseMs).toBe(5000);
    const updated = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/billing`, {
      routingKey: null,
      headers: { region: 'eu' },
    });
    expect(updated).toEqual({ status: 200, body: { ...created.body, routingKey: null, headers: { region: 'eu' } } });
    expect((await broker.call('GET', `/v1/topics/${topic}`)).body.subscriptions).toEqual([updated.body]);
  });

  it('feeds an existing queue when `queue` names one', async () => {
    const queue = uniqueName('audit');
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    const topic = await newTopic(['audit', { queue }]);
    const { body } = await broker.call('POST', `/v1/topics/${topic}/messages`, { body: 'copied' });
    expect(body.deliveredTo).toBe(1);
    expect(await bodies(queue)).toEqual(['copied']);
  });

  it('pauses (copies kept, nothing delivered) and resumes (200, the subscription)', async () => {
    const topic = await newTopic(['slow']);
    const paused = await broker.call('POST', `/v1/topics/${topic}/subscriptions/slow/pause`);
    expect(paused).toMatchObject({ status: 200, body: { name: 'slow', state: 'paused' } });
    await broker.call('POST', `/v1/topics/${topic}/messages`, { body: 'while paused' });
    expect(await bodies(`${topic}.slow`)).toEqual([]);
    const resumed = await broker.call('POST', `/v1/topics/${topic}/subscriptions/slow/resume`);
    expect(resumed).toMatchObject({ status: 200, body: { name: 'slow', state: 'active' } });
    expect(await bodies(`${topic}.slow`)).toEqual(['while paused']);
  });

  it('DELETE unsubscribes (204): no more copies; its queue and messages stay', async () => {
    const topic = await newTopic(['kept'], ['leaving']);
    await broker.call('POST', `/v1/topics/${topic}/messages`, { body: 'before' });
    expect(await broker.call('DELETE', `/v1/topics/${topic}/subscriptions/leaving`)).toEqual({
      status: 204,
      body: null,
    });
    const after = await broker.call('POST', `/v1/topics/${topic}/messages`, { body: 'after' });
    expect(after.body.deliveredTo).toBe(1);
    expect(await bodies(`${topic}.leaving`)).toEqual(['before']);
    expect((await broker.call('GET', `/v1/topics/${topic}`)).body.subscriptions.map((s: any) => s.name)).toEqual([
      'kept',
    ]);
    const again = await broker.call('DELETE', `/v1/topics/${topic}/subscriptions/leaving`);
    expect(again).toMatchObject({ status: 404, body: { error: { code: 'subscription_not_found' } } });
  });

  it.each([
    [{ routingKey: 'a..b' }, 'routingKey'],
    [{ routingKey: 5 }, 'routingKey'],
    [{ headers: { a: 1 } }, 'headers.a'],
    [{ headers: 'x' }, 'headers'],
    [{ queueOptions: { leaseMs: 'x' } }, 'queueOptions.leaseMs'],
    [{ filter: 'x' }, 'filter'],
    [[], 'body'],
  ])('rejects %j with 400 naming %s, subscribing nothing', async (request, field) => {
    const topic = await newTopic();
    const reply = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/bad`, request);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'invalid_request', field });
    expect((await broker.call('GET', `/v1/topics/${topic}`)).body.subscriptions).toEqual([]);
  });

  it('refuses a subscription name that is not a valid name', async () => {
    const topic = await newTopic();
    const reply = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/no%20spaces`, {});
    expect(reply).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'subscription' } } });
  });

  it.each(['pause', 'resume'])('POST %s of an unknown subscription is 404 subscription_not_found', async (action) => {
    const topic = await newTopic();
    const reply = await broker.call('POST', `/v1/topics/${topic}/subscriptions/nobody/${action}`);
    expect(reply).toMatchObject({ status: 404, body: { error: { code: 'subscription_not_found' } } });
  });
});

describe('POST /v1/topics/:topic/messages', () => {
  it('copies a message to every matching subscription; each is consumed from "<topic>.<subscription>"', async () => {
    const topic = await newTopic(
      ['all'],
      ['created', { routingKey: 'orders.*.created' }],
      ['eu', { headers: { region: 'eu' } }],
    );
    const id = randomUUID();
    const reply = await broker.call('POST', `/v1/topics/${topic}/messages`, {
      id,
      body: { order: 7 },
      headers: { region: 'us' },
      routingKey: 'orders.us.created',
    });
    expect(reply).toEqual({ status: 201, body: { id, deliveredTo: 2 } });
    for (const subscription of ['all', 'created']) {
      const [delivery] = await drain(`${topic}.${subscription}`);
      expect(delivery).toMatchObject({
        id,
        body: { order: 7 },
        headers: { region: 'us' },
        routingKey: 'orders.us.created',
        deliveryCount: 1,
      });
    }
    expect(await drain(`${topic}.eu`)).toEqual([]);
    expect(await statsOf(broker, `${topic}.all`)).toMatchObject({ available: 0, inFlight: 0 });
  });

  it('publishes a batch all or nothing: { messages: [{ id, deliveredTo }] }', async () => {
    const topic = await newTopic(['all'], ['eu', { routingKey: 'eu.#' }]);
    const reply = await broker.call('POST', `/v1/topics/${topic}/messages`, {
      messages: [{ body: 1, routingKey: 'eu.fr' }, { body: 2, routingKey: 'us' }, { body: 3 }],
    });
    expect(reply.status).toBe(201);
    expect(reply.body.messages.map((m: { deliveredTo: number }) => m.deliveredTo)).toEqual([2, 1, 1]);
    expect(await bodies(`${topic}.all`)).toEqual([1, 2, 3]);
    expect(await bodies(`${topic}.eu`)).toEqual([1]);
    const refused = await broker.call('POST', `/v1/topics/${topic}/messages`, {
      messages: [{ body: 4 }, { body: 5, routingKey: 'a.*' }],
    });
    expect(refused).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', field: 'messages[1].routingKey' } },
    });
    expect(await statsOf(broker, `${topic}.all`)).toMatchObject({ available: 0 });
  });

  it('answers 201 with deliveredTo 0 when no subscription matches', async () => {
    const topic = await newTopic(['eu', { routingKey: 'eu' }]);
    const reply = await broker.call('POST', `/v1/topics/${topic}/messages`, { body: 1, routingKey: 'us' });
    expect(reply).toMatchObject({ status: 201, body: { deliveredTo: 0 } });
  });

  it.each([
    [{}, 'body'],
    [{ body: 1, routingKey: 'bad key' }, 'routingKey'],
    [{ body: 1, routingKey: 7 }, 'routingKey'],
    [{ body: 1, delayMs: 'x' }, 'delayMs'],
    [{ body: 1, priority: 1 }, 'priority'],
    [{ body: 1, manager: {} }, 'manager'],
    [{ messages: [] }, 'messages'],
    [{ messages: Array.from({ length: 1001 }, () => ({ body: 1 })) }, 'messages'],
    [{ messages: [{ body: 1 }], routingKey: 'a' }, 'routingKey'],
    [{ messages: [5] }, 'messages[0]'],
  ])('rejects %j with 400 naming %s, publishing nothing', async (request, field) => {
    const topic = await newTopic(['all']);
    const reply = await broker.call('POST', `/v1/topics/${topic}/messages`, request);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'invalid_request', field });
    expect(await statsOf(broker, `${topic}.all`)).toMatchObject({ available: 0 });
  });
});

describe('an unknown topic', () => {
  it.each([
    ['GET', ''],
    ['POST', '/messages'],
    ['PUT', '/subscriptions/s'],
    ['POST', '/subscriptions/s/pause'],
    ['POST', '/subscriptions/s/resume'],
    ['DELETE', '/subscriptions/s'],
  ])('%s %s is 404 topic_not_found', async (method, suffix) => {
    const body = suffix === '/messages' ? { body: 1 } : undefined;
    const reply = await broker.call(method, `/v1/topics/${uniqueName('missing')}${suffix}`, body);
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('topic_not_found');
    expect(reply.body.error.message).toMatch(/does not exist/);
  });
});
