import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueDefaults } from '@mailroom/core';
import { startBroker, statsOf, uniqueName, type TestBroker } from './broker';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

const EMPTY = { available: 0, inFlight: 0, delayed: 0, exhausted: 0 };

describe('PUT /v1/queues/:name', () => {
  it('creates with defaults (201), then updates (200) keeping options not given', async () => {
    const name = uniqueName();
    const created = await broker.call('PUT', `/v1/queues/${name}`, { leaseMs: 5000 });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      name,
      state: 'active',
      options: { ...queueDefaults(name), leaseMs: 5000 },
      stats: expect.objectContaining(EMPTY),
    });
    const updated = await broker.call('PUT', `/v1/queues/${name}`, { maxDeliveries: 3, retentionMs: 60_000 });
    expect(updated.status).toBe(200);
    expect(updated.body.options).toEqual({
      ...queueDefaults(name),
      leaseMs: 5000,
      maxDeliveries: 3,
      retentionMs: 60_000,
    });
  });

  it('accepts no body at all as "defaults"', async () => {
    const name = uniqueName();
    const created = await broker.call('PUT', `/v1/queues/${name}`);
    expect(created.status).toBe(201);
    expect(created.body.options).toEqual(queueDefaults(name));
  });

  it.each([
    [{ leaseMs: 'x' }, 'leaseMs'],
    [{ leaseMs: 5 }, 'leaseMs'],
    [{ maxDeliveries: 1.5 }, 'maxDeliveries'],
    [{ ordering: 'random' }, 'ordering'],
    [{ retentionMs: -1 }, 'retentionMs'],
    [{ color: 'blue' }, 'color'],
    [{ deadLetterQueue: 'no-such-queue' }, 'deadLetterQueue'],
    [{ retry: { strategy: 'linear' } }, 'retry.strategy'],
    [[1, 2], 'body'],
  ])('rejects %j with 400 naming %s and creates nothing', async (body, field) => {
    const name = uniqueName();
    const reply = await broker.call('PUT', `/v1/queues/${name}`, body);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'invalid_request', field });
    expect((await broker.call('GET', `/v1/queues/${name}`)).status).toBe(404);
  });

  it('refuses to change ordering (409 invalid_transition) and keeps the queue as it was', async () => {
    const name = uniqueName();
    await broker.call('PUT', `/v1/queues/${name}`, { ordering: 'grouped' });
    const reply = await broker.call('PUT', `/v1/queues/${name}`, { ordering: 'standard', leaseMs: 1000 });
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe('invalid_transition');
    const { body } = await broker.call('GET', `/v1/queues/${name}`);
    expect(body.options).toEqual({ ...queueDefaults(name), ordering: 'grouped' });
  });
});

describe('queue names', () => {
  it.each(['bad%20name', '-starts-with-dash', '.hidden', 'x'.repeat(129), 'caf%C3%A9'])(
    '"%s" is a 400 invalid_request on name, on every endpoint',
    async (name) => {
      const calls: [string, string][] = [
        ['PUT', ''],
        ['GET', ''],
        ['DELETE', ''],
        ['POST', '/pause'],
        ['POST', '/purge'],
        ['POST', '/receive'],
      ];
      for (const [method, suffix] of calls) {
        const reply = await broker.call(method, `/v1/queues/${name}${suffix}`, method === 'GET' ? undefined : {});
        expect(reply.status, `${method} ${suffix}`).toBe(400);
        expect(reply.body.error).toMatchObject({ code: 'invalid_request', field: 'name' });
      }
      const sent = await broker.call('POST', `/v1/queues/${name}/messages`, { body: 1 });
      expect(sent.body.error).toMatchObject({ code: 'invalid_request', field: 'name' });
    },
  );
});

describe('GET /v1/queues', () => {
  it('lists live queues with their stats', async () => {
    const name = uniqueName('listed');
    await broker.call('PUT', `/v1/queues/${name}`, {});
    await broker.call('POST', `/v1/queues/${name}/messages`, { body: 'hello' });
    const { status, body } = await broker.call('GET', '/v1/queues');
    expect(status).toBe(200);
    expect(body.queues.find((q: { name: string }) => q.name === name)).toEqual({
      name,
      state: 'active',
      options: queueDefaults(name),
      stats: expect.objectContaining({ ...EMPTY, available: 1 }),
    });
  });
});

describe('pause, resume, purge, delete', () => {
  it('pauses and resumes (200, the queue)', async () => {
    const name = uniqueName();
    await broker.call('PUT', `/v1/queues/${name}`, {});
    const paused = await broker.call('POST', `/v1/queues/${name}/pause`);
    expect(paused).toMatchObject({ status: 200, body: { name, state: 'paused' } });
    expect((await broker.call('POST', `/v1/queues/${name}/pause`)).body.state).toBe('paused');
    const resumed = await broker.call('POST', `/v1/queues/${name}/resume`);
    expect(resumed).toMatchObject({ status: 200, body: { name, state: 'active' } });
  });

  it('purges what is not in flight (200, { purged })', async () => {
    const name = uniqueName();
    await broker.call('PUT', `/v1/queues/${name}`, {});
    await broker.call('POST', `/v1/queues/${name}/messages`, { messages: [{ body: 1 }, { body: 2 }, { body: 3 }] });
    await broker.call('POST', `/v1/queues/${name}/receive`, { max: 1 });
    expect(await broker.call('POST', `/v1/queues/${name}/purge`)).toEqual({ status: 200, body: { purged: 2 } });
    expect(await statsOf(broker, name)).toMatchObject({ ...EMPTY, inFlight: 1 });
  });

  it('deletes (204, no body); the name is then unknown (404) and free again', async () => {
    const name = uniqueName();
    await broker.call('PUT', `/v1/queues/${name}`, {});
    await broker.call('POST', `/v1/queues/${name}/messages`, { body: 1 });
    expect(await broker.call('DELETE', `/v1/queues/${name}`)).toEqual({ status: 204, body: null });
    const gone = await broker.call('GET', `/v1/queues/${name}`);
    expect(gone).toMatchObject({ status: 404, body: { error: { code: 'queue_not_found' } } });
    expect((await broker.call('PUT', `/v1/queues/${name}`, {})).status).toBe(201);
    expect(await statsOf(broker, name)).toMatchObject(EMPTY);
  });

  it("refuses to delete another queue's dead-letter queue (409 invalid_transition)", async () => {
    const dlq = uniqueName('dlq');
    const name = uniqueName();
    await broker.call('PUT', `/v1/queues/${dlq}`, {});
    await broker.call('PUT', `/v1/queues/${name}`, { deadLetterQueue: dlq });
    const reply = await broker.call('DELETE', `/v1/queues/${dlq}`);
    expect(reply).toMatchObject({ status: 409, body: { error: { code: 'invalid_transition' } } });
    expect((await broker.call('GET', `/v1/queues/${dlq}`)).status).toBe(200);
  });

  it.each([
    ['GET', ''],
    ['DELETE', ''],
    ['POST', '/pause'],
    ['POST', '/resume'],
    ['POST', '/purge'],
  ])('%s %s on an unknown queue is 404 queue_not_found', async (method, suffix) => {
    const reply = await broker.call(method, `/v1/queues/${uniqueName('missing')}${suffix}`);
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('queue_not_found');
    expect(reply.body.error.message).toMatch(/does not exist/);
  });
});
