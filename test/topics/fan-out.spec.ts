import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequestError, TopicNotFoundError, type MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';

let db: TestDatabase;
let client: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
  await client.createTopic('orders');
  await client.subscribe('orders', 'all');
  await client.subscribe('orders', 'created', { routingKey: 'orders.*.created' });
  await client.subscribe('orders', 'eu', { routingKey: 'orders.#', headers: { region: 'eu' } });
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

const drain = async (queue: string) => {
  const got = await client.receive<string>(queue, { max: 100 });
  if (got.length)
    await client.ack(
      queue,
      got.map((m) => m.receipt),
    );
  return got.map((m) => m.body);
};

describe('fan-out', () => {
  it('gives each of three filtered subscriptions exactly the matching copies', async () => {
    const results = await client.publishBatch('orders', [
      { body: 'us-created', routingKey: 'orders.us.created', headers: { region: 'us' } },
      { body: 'eu-created', routingKey: 'orders.eu.created', headers: { region: 'eu' } },
      { body: 'eu-shipped', routingKey: 'orders.eu.shipped', headers: { region: 'eu' } },
      { body: 'no-key', headers: { region: 'eu' } },
    ]);
    expect(results.map((r) => r.deliveredTo)).toEqual([2, 3, 2, 1]);
    expect(await drain('orders.all')).toEqual(['us-created', 'eu-created', 'eu-shipped', 'no-key']);
    expect(await drain('orders.created')).toEqual(['us-created', 'eu-created']);
    expect(await drain('orders.eu')).toEqual(['eu-created', 'eu-shipped']);
  });

  it('delivers nothing anywhere when the publisher rolls back', async () => {
    await expect(
      db.dataSource.transaction(async (manager) => {
        await client.publish('orders', 'rolled back', {
          routingKey: 'orders.eu.created',
          headers: { region: 'eu' },
          manager,
        });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    for (const q of ['orders.all', 'orders.created', 'orders.eu']) expect(await drain(q)).toEqual([]);
  });

  it('keeps copies for a paused subscription but delivers them only after resume', async () => {
    await client.pauseSubscription('orders', 'created');
    await client.publish('orders', 'while paused', { routingKey: 'orders.us.created' });
    expect(await drain('orders.created')).toEqual([]);
    const resumed = await client.resumeSubscription('orders', 'created');
    expect(resumed.state).toBe('active');
    expect(await drain('orders.created')).toEqual(['while paused']);
    await drain('orders.all');
  });

  it('stops copying to a detached subscription and keeps its queue', async () => {
    await client.subscribe('orders', 'temp');
    await client.unsubscribe('orders', 'temp');
    expect((await client.publish('orders', 'after detach')).deliveredTo).toBe(1);
    expect(await drain('orders.temp')).toEqual([]);
    expect((await client.getTopic('orders')).subscriptions.map((s) => s.name)).toEqual(['all', 'created', 'eu']);
    await drain('orders.all');
  });

  it('lets several topics feed one queue, and stores a repeated id once per queue', async () => {
    await client.createQueue('audit');
    await client.createTopic('payments');
    await client.subscribe('orders', 'audit', { queue: 'audit' });
    await client.subscribe('payments', 'audit', { queue: 'audit' });
    const id = '5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c';
    await client.publish('orders', 'o', { id });
    await client.publish('orders', 'o again', { id });
    await client.publish('payments', 'p');
    expect(await drain('audit')).toEqual(['o', 'p']);
    await expect(client.subscribe('orders', 'audit2', { queue: 'audit' })).rejects.toBeInstanceOf(InvalidRequestError);
    await client.unsubscribe('orders', 'audit');
    await drain('orders.all');
  });

  it('refuses unknown topics and bad filters', async () => {
    await expect(client.publish('nope', 1)).rejects.toBeInstanceOf(TopicNotFoundError);
    await expect(client.subscribe('orders', 'bad', { routingKey: 'a..b' })).rejects.toMatchObject({
      field: 'routingKey',
    });
    await expect(client.publish('orders', 1, { routingKey: 'a.*' })).rejects.toMatchObject({ field: 'routingKey' });
    await expect(client.subscribe('orders', 'bad', { headers: { a: 1 } as never })).rejects.toMatchObject({
      field: 'headers.a',
    });
  });
});
