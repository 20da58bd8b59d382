import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, MailroomMetrics, OnMessage } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';
import { CounterWorkflow } from '../workflows/counter.workflow';

/**
 * The library's counters move for what really happened, whichever path did it: a nack,
 * the lease reaper, the janitor, a workflow that never started, an at-most-once take.
 */

let acked = 0;

@Injectable()
class Acker {
  @OnMessage('counted-acks', { concurrency: 4 })
  handle() {
    acked += 1;
  }
}

let db: TestDatabase;
let app: INestApplicationContext;
let client: MailroomClient;
let metrics: MailroomMetrics;
const registry = new Registry();

beforeAll(async () => {
  db = await createTestDatabase();
  const setup = await startNestApp(db.url, []);
  await setup
    .get(MailroomClient)
    .createQueue('counter-inc', { maxDeliveries: 5, retry: { strategy: 'fixed', delayMs: 50 } });
  await setup.close();
  app = await startNestApp(db.url, [CounterWorkflow, Acker], { janitorIntervalMs: 100 });
  client = app.get(MailroomClient);
  metrics = new MailroomMetrics(client, { registry });
});
afterAll(async () => {
  metrics?.onModuleDestroy();
  await app?.close();
  await db?.drop();
});

/** A counter's value for these labels (0 when the series does not exist yet). */
async function value(name: string, labels: Record<string, string>): Promise<number> {
  const { values } = await registry.getSingleMetric(name)!.get();
  const series = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return series?.value ?? 0;
}
const deadLetters = (queue: string, reason: string) => value('mailroom_dead_letters_total', { queue, reason });

async function queue(options: object = {}): Promise<string> {
  const name = `counted-${randomUUID().slice(0, 8)}`;
  await client.createQueue(name, options);
  return name;
}

describe('dead letters by reason', () => {
  it('max_deliveries: the nack that spends the last attempt (and the earlier one is a retry)', async () => {
    const q = await queue({ maxDeliveries: 2, retry: { strategy: 'fixed', delayMs: 0 } });
    await client.send(q, 'fails');
    for (let i = 0; i < 2; i += 1) {
      const [m] = await client.receive(q, { waitMs: 5_000 });
      await client.nack(q, [m.receipt]);
    }
    expect(await deadLetters(q, 'max_deliveries')).toBe(1);
    expect(await value('mailroom_retries_total', { queue: q })).toBe(1);
    expect(await value('mailroom_nacks_total', { queue: q })).toBe(2);
  });

  it('max_deliveries in a queue without a DLQ: the message stays, exhausted, and is counted', async () => {
    const q = await queue({ maxDeliveries: 1, deadLetterQueue: null });
    await client.send(q, 'fails');
    const [m] = await client.receive(q);
    await client.nack(q, [m.receipt]);
    expect(await deadLetters(q, 'max_deliveries')).toBe(1);
  });

  it('rejected: a nack that dead-letters now', async () => {
    const q = await queue();
    await client.send(q, 'bad');
    const [m] = await client.receive(q);
    await client.nack(q, [m.receipt], { deadLetter: true });
    expect(await deadLetters(q, 'rejected')).toBe(1);
  });

  it('lease_expired: the reaper buries a message whose expired lease spent its last attempt', async () => {
    const q = await queue({ maxDeliveries: 1 });
    await client.send(q, 'crashes its consumer');
    expect(await client.receive(q, { leaseMs: 100 })).toHaveLength(1);
    await until(async () => (await deadLetters(q, 'lease_expired')) === 1);
    expect(await client.countDeadLetters(q)).toBe(1);
    expect(await value('mailroom_lease_expired_redeliveries_total', { queue: q })).toBe(0);
  });

  it('expired: the janitor dead-letters a message whose time-to-live passed, or drops and counts it', async () => {
    const kept = await queue({ messageTtlMs: 1, deadLetterExpired: true });
    const dropped = await queue({ messageTtlMs: 1 });
    await client.send(kept, 'late');
    await client.send(dropped, 'late');
    await until(async () => (await deadLetters(kept, 'expired')) === 1);
    await until(async () => (await value('mailroom_expired_dropped_total', { queue: dropped })) === 1);
    expect(await deadLetters(dropped, 'expired')).toBe(0);
  });

  it('workflow_not_found: a workflow message for an instance that never started', async () => {
    await client.send('counter-inc', { id: randomUUID() });
    await until(async () => (await deadLetters('counter-inc', 'workflow_not_found')) === 1);
  });
});

describe('deliveries', () => {
  it('counts messages the reaper returns from an expired lease, then their redelivery', async () => {
    const q = await queue({ maxDeliveries: 5 });
    await client.send(q, 'slow consumer');
    expect(await client.receive(q, { leaseMs: 100 })).toHaveLength(1);
    await until(async () => (await value('mailroom_lease_expired_redeliveries_total', { queue: q })) === 1);
    const [again] = await client.receive(q, { waitMs: 5_000 });
    expect(again.deliveryCount).toBe(2);
    expect(await value('mailroom_redeliveries_total', { queue: q })).toBe(1);
    expect(await deadLetters(q, 'lease_expired')).toBe(0);
  });

  it('counts the acks a push consumer carries in its claims', async () => {
    await client.sendBatch(
      'counted-acks',
      Array.from({ length: 50 }, (_, n) => ({ body: n })),
    );
    await until(() => acked >= 50);
    await until(async () => (await value('mailroom_acks_total', { queue: 'counted-acks' })) >= 50);
    expect(await value('mailroom_acks_total', { queue: 'counted-acks' })).toBe(50);
    expect(acked).toBe(50);
  });

  it('counts at-most-once takes as deliveries, with their statement latency', async () => {
    const q = await queue();
    await client.sendBatch(q, [{ body: 1 }, { body: 2 }]);
    expect(await client.take(q, { max: 2 })).toHaveLength(2);
    expect(await value('mailroom_deliveries_total', { queue: q })).toBe(2);
    const latency = await registry.getSingleMetric('mailroom_claim_statement_seconds')!.get();
    expect(
      latency.values.find((v) => v.labels.queue === q && (v as { metricName?: string }).metricName?.endsWith('_count'))
        ?.value,
    ).toBe(1);
  });

  it('counts publishes per topic, with their statement latency', async () => {
    const topic = `counted-${randomUUID().slice(0, 8)}`;
    await client.createTopic(topic);
    await client.publish(topic, 'news');
    await client.publish(topic, 'more news');
    expect(await value('mailroom_messages_published_total', { topic })).toBe(2);
    const latency = await registry.getSingleMetric('mailroom_publish_statement_seconds')!.get();
    expect(
      latency.values.find(
        (v) => v.labels.topic === topic && (v as { metricName?: string }).metricName?.endsWith('_count'),
      )?.value,
    ).toBe(2);
  });
});
