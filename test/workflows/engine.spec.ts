import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, Workflows } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';
import { CounterWorkflow } from './counter.workflow';

let db: TestDatabase;
let app: INestApplicationContext;
let client: MailroomClient;
let workflows: Workflows;

beforeAll(async () => {
  db = await createTestDatabase();
  const setup = await startNestApp(db.url, []);
  // Queues declared ahead: duplicates of one id must be storable (no dedup window), retries fast.
  const admin = setup.get(MailroomClient);
  await admin.createQueue('workflow.counter', {
    ordering: 'grouped',
    dedupWindowMs: 0,
    maxDeliveries: 2,
    retry: { strategy: 'fixed', delayMs: 50 },
  });
  await admin.createQueue('counter-notices');
  await admin.createQueue('counter-inc', { maxDeliveries: 3, retry: { strategy: 'fixed', delayMs: 50 } });
  await setup.close();
  app = await startNestApp(db.url, [CounterWorkflow]);
  client = app.get(MailroomClient);
  workflows = app.get(Workflows);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const count = async (sql: string, params: unknown[]) => Number((await db.dataSource.query(sql, params))[0].count);
const notices = () =>
  count(
    `SELECT count(*) FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = 'counter-notices'`,
    [],
  );
const history = (key: string, outcome: string) =>
  count(
    `SELECT count(*) FROM mailroom_workflow_history h JOIN mailroom_workflow_instance i ON i.id = h.instance_id WHERE i.key = $1 AND h.outcome = $2`,
    [key, outcome],
  );

describe('workflow transitions', () => {
  it('starts and sends inside the caller’s transaction: a rollback leaves no instance and no message', async () => {
    const key = randomUUID();
    await db.dataSource
      .transaction(async (manager) => {
        await workflows.start(CounterWorkflow, key, undefined, { manager });
        const sent = await workflows.send(CounterWorkflow, key, { type: 'INC' }, { manager });
        expect(sent).toMatchObject({ outcome: 'applied', context: { n: 1 } });
        throw new Error('caller rolls back');
      })
      .catch(() => undefined);
    expect(await count(`SELECT count(*) FROM mailroom_workflow_instance WHERE key = $1`, [key])).toBe(0);

    const before = await notices();
    await db.dataSource.transaction(async (manager) => {
      await workflows.start(CounterWorkflow, key, undefined, { manager });
      await workflows.send(CounterWorkflow, key, { type: 'INC' }, { manager });
    });
    const instance = await workflows.get(CounterWorkflow, key);
    expect(instance).toMatchObject({ status: 'running', state: 'counting', tags: ['open'], version: '1' });
    expect(instance.history.map((h) => h.outcome)).toEqual(['applied', 'started']);
    expect(await notices()).toBe(before + 1);
  });

  it('makes one instance of 50 concurrent starts for one key', async () => {
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 50 }, () => workflows.start(CounterWorkflow, key)));
    expect(results.filter((r) => r.outcome === 'started')).toHaveLength(1);
    expect(await count(`SELECT count(*) FROM mailroom_workflow_instance WHERE key = $1`, [key])).toBe(1);
    expect(await history(key, 'started')).toBe(1);
  });

  it('changes the instance once when one message is delivered 10 times concurrently', async () => {
    const key = randomUUID();
    await workflows.start(CounterWorkflow, key);
    const before = await notices();
    const id = randomUUID();
    // Ten copies of one message id (the queue keeps no dedup window), no group: claimed side by side.
    await client.sendBatch(
      'workflow.counter',
      Array.from({ length: 10 }, () => ({ id, body: { key, kind: 'event', event: { type: 'INC' } } })),
    );
    await until(
      async () =>
        (await client.getQueue('workflow.counter')).stats.available +
          (await client.getQueue('workflow.counter')).stats.inFlight ===
        0,
    );
    const instance = await workflows.get(CounterWorkflow, key);
    expect((instance.snapshot as { context: { n: number } }).context.n).toBe(1);
    expect(await history(key, 'applied')).toBe(1);
    expect(await notices()).toBe(before + 1);
  });

  it('applies 100 concurrent events to one key exactly as 100 serial ones', async () => {
    const key = randomUUID();
    await workflows.start(CounterWorkflow, key);
    await Promise.all(Array.from({ length: 100 }, () => workflows.send(CounterWorkflow, key, { type: 'INC' })));
    const serial = randomUUID();
    await workflows.start(CounterWorkflow, serial);
    for (let i = 0; i < 100; i++) await workflows.send(CounterWorkflow, serial, { type: 'INC' });
    const [a, b] = await Promise.all([workflows.get(CounterWorkflow, key), workflows.get(CounterWorkflow, serial)]);
    expect(a.snapshot).toEqual(b.snapshot);
    expect((a.snapshot as { context: { n: number } }).context.n).toBe(100);
    expect(await history(key, 'applied')).toBe(100);
  });

  it('records an event the state does not accept as ignored, and changes nothing', async () => {
    const key = randomUUID();
    await workflows.start(CounterWorkflow, key);
    await workflows.send(CounterWorkflow, key, { type: 'STOP' });
    const result = await workflows.send(CounterWorkflow, key, { type: 'INC' });
    expect(result).toMatchObject({ outcome: 'ignored', status: 'done', context: { n: 0 } });
    const unknown = randomUUID();
    await workflows.start(CounterWorkflow, unknown);
    expect(await workflows.send(CounterWorkflow, unknown, { type: 'NOPE' })).toMatchObject({
      outcome: 'ignored',
      state: 'counting',
    });
    expect((await workflows.get(CounterWorkflow, unknown)).history[0]).toMatchObject({
      outcome: 'ignored',
      detail: 'not accepted in counting',
    });
  });

  it('rolls back a throwing action: retried by the queue, dead-lettered with the error, the instance unchanged', async () => {
    const key = randomUUID();
    await workflows.start(CounterWorkflow, key);
    await client.send('workflow.counter', { key, kind: 'event', event: { type: 'BOOM' } }, { groupKey: key });
    await until(async () =>
      (await client.listDeadLetters('workflow.counter')).deadLetters.some(
        (d) => (d.body as { key: string }).key === key,
      ),
    );
    const dead = (await client.listDeadLetters('workflow.counter')).deadLetters.find(
      (d) => (d.body as { key: string }).key === key,
    )!;
    expect(dead.error).toBe('boom');
    const instance = await workflows.get(CounterWorkflow, key);
    expect(instance.history.map((h) => h.outcome)).toEqual(['started']);
    expect(instance.state).toBe('counting');
  });

  it('applies a message that overtook its start, once the instance exists', async () => {
    const key = randomUUID();
    await client.send('counter-inc', { id: key });
    await until(
      async () =>
        (await client.getQueue('counter-inc')).stats.inFlight +
          (await client.getQueue('counter-inc')).stats.available ===
          0 ||
        (await count(
          `SELECT sum(attempts) AS count FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = 'counter-inc'`,
          [],
        )) >= 1,
    );
    await workflows.start(CounterWorkflow, key);
    await until(async () => (await history(key, 'applied')) === 1);
    expect((await workflows.get(CounterWorkflow, key)).snapshot).toMatchObject({ context: { n: 1 } });
  });

  it('takes events from a topic through its own subscription, filtered by routing key', async () => {
    const key = randomUUID();
    await workflows.start(CounterWorkflow, key);
    await client.publish('counter-events', { id: key }, { routingKey: 'counter.other' });
    await client.publish('counter-events', { id: key }, { routingKey: 'counter.bump' });
    await until(async () => (await history(key, 'applied')) === 1);
    expect((await workflows.get(CounterWorkflow, key)).snapshot).toMatchObject({ context: { n: 10 } });
  });

  it('dead-letters a message for a key that never starts with workflow_not_found, after bounded retries', async () => {
    const key = randomUUID();
    await client.send('counter-inc', { id: key });
    await until(async () =>
      (await client.listDeadLetters('counter-inc')).deadLetters.some((d) => (d.body as { id: string }).id === key),
    );
    const dead = (await client.listDeadLetters('counter-inc')).deadLetters.find(
      (d) => (d.body as { id: string }).id === key,
    )!;
    expect(dead.reason).toBe('workflow_not_found');
    expect(dead.error).toMatch(/^workflow_not_found: /);
    expect(dead.deliveryCount).toBe(3);
  });
});
