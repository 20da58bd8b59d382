import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/wait';
import { startBroker, uniqueName, type TestBroker } from './broker';

/** Requests that fail change nothing; ones that succeed do all they say. */

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker({ mailroom: { reaperIntervalMs: 100, pollIntervalMs: 200, janitorIntervalMs: 100 } });
});
afterAll(async () => {
  await broker?.close();
});

async function newTopic(): Promise<string> {
  const topic = uniqueName('t');
  await broker.call('PUT', `/v1/topics/${topic}`);
  return topic;
}

const optionsOf = async (queue: string) => (await broker.call('GET', `/v1/queues/${queue}`)).body.options;

describe('subscribing', () => {
  it('leaves a queue that feeds another subscription as it was when answering 400', async () => {
    const topic = await newTopic();
    const shared = `${topic}.a`;
    await broker.call('PUT', `/v1/queues/${shared}`, { leaseMs: 5000 });
    await broker.call('PUT', `/v1/topics/${topic}/subscriptions/b`, { queue: shared });
    const reply = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/a`, { queueOptions: { leaseMs: 7000 } });
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('queue');
    expect((await optionsOf(shared)).leaseMs).toBe(5000);
    const { body } = await broker.call('GET', `/v1/topics/${topic}`);
    expect(body.subscriptions.map((s: { name: string }) => s.name)).toEqual(['b']);
  });

  it('creates neither queue nor DLQ for a subscription refused for its queue options', async () => {
    const topic = await newTopic();
    const reply = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/s`, { queueOptions: { retry: [] } });
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('queueOptions.retry');
    expect((await broker.call('GET', `/v1/queues/${topic}.s`)).status).toBe(404);
    expect((await broker.call('GET', `/v1/queues/${topic}.s.dlq`)).status).toBe(404);
  });

  it('applies queueOptions when updating a subscription that has its own queue', async () => {
    const topic = await newTopic();
    await broker.call('PUT', `/v1/topics/${topic}/subscriptions/s`, { queueOptions: { leaseMs: 5000 } });
    const reply = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/s`, {
      routingKey: 'a.*',
      queueOptions: { leaseMs: 9000 },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.routingKey).toBe('a.*');
    expect((await optionsOf(`${topic}.s`)).leaseMs).toBe(9000);
  });

  it('refuses queueOptions when updating a subscription that feeds a queue it did not create, changing nothing', async () => {
    const topic = await newTopic();
    const queue = uniqueName('fed');
    await broker.call('PUT', `/v1/queues/${queue}`, { leaseMs: 5000 });
    await broker.call('PUT', `/v1/topics/${topic}/subscriptions/s`, { queue, routingKey: 'a' });
    const reply = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/s`, {
      routingKey: 'b',
      queueOptions: { leaseMs: 9000 },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('queueOptions');
    expect((await optionsOf(queue)).leaseMs).toBe(5000);
    expect((await broker.call('GET', `/v1/queues/${topic}.s`)).status).toBe(404);
    const { body } = await broker.call('GET', `/v1/topics/${topic}`);
    expect(body.subscriptions[0].routingKey).toBe('a');
  });

  it('rolls back a reconfigured own queue when the new filter is refused', async () => {
    const topic = await newTopic();
    await broker.call('PUT', `/v1/topics/${topic}/subscriptions/s`, { queueOptions: { leaseMs: 5000 } });
    const reply = await broker.call('PUT', `/v1/topics/${topic}/subscriptions/s`, {
      queueOptions: { leaseMs: 9000 },
      routingKey: 'no spaces',
    });
    expect(reply.status).toBe(400);
    expect((await optionsOf(`${topic}.s`)).leaseMs).toBe(5000);
  });
});

describe('reconfiguring a queue', () => {
  it('creates no DLQ for a change refused after the DLQ would have been made', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, { deadLetterQueue: null });
    // The default DLQ is made on demand, then the ordering change is refused (fixed at creation).
    const reply = await broker.call('PUT', `/v1/queues/${queue}`, {
      deadLetterQueue: `${queue}.dlq`,
      ordering: 'grouped',
    });
    expect(reply.status).toBe(409);
    expect((await broker.call('GET', `/v1/queues/${queue}.dlq`)).status).toBe(404);
    expect((await optionsOf(queue)).deadLetterQueue).toBeNull();
  });
});

describe('a queue whose deletion a crash interrupted (state deleting)', () => {
  async function halfDeleted(): Promise<string> {
    const queue = uniqueName('del');
    await broker.call('PUT', `/v1/queues/${queue}`, { deadLetterQueue: null });
    await broker.call('POST', `/v1/queues/${queue}/messages`, { messages: [{ body: 1 }, { body: 2 }] });
    // What a node that died between DELETE's first step and its last leaves behind.
    await broker.db.dataSource.query(
      `UPDATE mailroom_queue SET state = 'deleting',
              snapshot = jsonb_set(snapshot, '{value}', '"deleting"') WHERE name = $1`,
      [queue],
    );
    return queue;
  }

  it('is finished by deleting it again, after which the name is free', async () => {
    const queue = await halfDeleted();
    expect((await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 3 })).status).toBe(410);
    expect((await broker.call('DELETE', `/v1/queues/${queue}`)).status).toBe(204);
    expect((await broker.call('GET', `/v1/queues/${queue}`)).status).toBe(404);
    expect((await broker.call('PUT', `/v1/queues/${queue}`, {})).status).toBe(201);
  });

  it('is finished by the janitor', async () => {
    const queue = await halfDeleted();
    await until(async () => (await broker.call('GET', `/v1/queues/${queue}`)).status === 404);
    const [{ count }] = await broker.db.dataSource.query(
      `SELECT count(*)::int AS count FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = $1`,
      [queue],
    );
    expect(count).toBe(0);
    expect((await broker.call('PUT', `/v1/queues/${queue}`, {})).status).toBe(201);
  });
});
