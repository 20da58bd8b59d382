import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidRequestError,
  InvalidTransitionError,
  MailroomClient,
  NonRetryableError,
  OnMessage,
} from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { eventually, until } from '../support/wait';

let db: TestDatabase;
let client: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource, { janitorIntervalMs: 100 });
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

const deadLetters = (queue: string) => client.listDeadLetters(queue).then((p) => p.deadLetters);

describe('dead-lettering', () => {
  it('moves a message whose nacks reach maxDeliveries, keeping id, body, headers and the failure', async () => {
    await client.createQueue('dl-max', { maxDeliveries: 2, retry: { delayMs: 0 } });
    const { id } = await client.send('dl-max', { order: 1 }, { headers: { trace: 't1' } });
    for (let i = 0; i < 2; i += 1) {
      const [m] = await client.receive('dl-max', { consumer: 'billing', waitMs: 2_000 });
      await client.nack('dl-max', [m.receipt], { reason: `failure ${i + 1}`, stack: 'Error: boom\n    at x' });
    }
    expect(await client.receive('dl-max')).toEqual([]);
    const [dead] = await deadLetters('dl-max');
    expect(dead).toMatchObject({
      id,
      body: { order: 1 },
      headers: { trace: 't1' },
      queue: 'dl-max',
      deadLetterQueue: 'dl-max.dlq',
      reason: 'max_deliveries',
      deliveryCount: 2,
      error: 'failure 2',
      stack: 'Error: boom\n    at x',
      consumer: 'billing',
    });
    expect(new Date(dead.firstFailedAt).getTime()).toBeLessThanOrEqual(new Date(dead.lastFailedAt).getTime());
    expect((await client.getQueue('dl-max.dlq')).stats.available).toBe(1);
  });

  it('dead-letters at once when a handler throws NonRetryableError (rejected)', async () => {
    @Injectable()
    class Strict {
      @OnMessage('dl-rejected')
      handle() {
        throw new NonRetryableError('malformed order');
      }
    }
    const app = await startNestApp(db.url, [Strict]);
    await app.get(MailroomClient).send('dl-rejected', 'bad');
    const [dead] = await eventually(
      () => deadLetters('dl-rejected'),
      (d) => d.length === 1,
    );
    expect(dead).toMatchObject({ reason: 'rejected', deliveryCount: 1, error: 'malformed order' });
    expect(dead.stack).toContain('NonRetryableError');
    await app.close();
  });

  it('dead-letters a poison message whose lease keeps expiring (lease_expired)', async () => {
    await client.createQueue('dl-poison', { maxDeliveries: 2 });
    await client.send('dl-poison', 'crashes its consumer');
    for (let i = 0; i < 2; i += 1) {
      // A consumer that takes the message and dies: never acks, never nacks.
      await client.receive('dl-poison', { consumer: `doomed-${i}`, leaseMs: 100, waitMs: 3_000 });
    }
    const [dead] = await eventually(
      () => deadLetters('dl-poison'),
      (d) => d.length === 1,
    );
    expect(dead).toMatchObject({ reason: 'lease_expired', deliveryCount: 2, consumer: 'doomed-1' });
  });

  it('dead-letters an expired message where the queue opts in, and drops and counts it otherwise', async () => {
    await client.createQueue('dl-ttl', { deadLetterExpired: true });
    await client.createQueue('drop-ttl', { messageTtlMs: 100 });
    await client.send('dl-ttl', 'stale', { ttlMs: 100 });
    await client.send('drop-ttl', 'stale too');
    await until(async () => (await client.getQueue('drop-ttl')).stats.available === 0);
    expect(await client.receive('dl-ttl')).toEqual([]);
    const [dead] = await eventually(
      () => deadLetters('dl-ttl'),
      (d) => d.length === 1,
    );
    expect(dead).toMatchObject({ reason: 'expired', body: 'stale' });
    const stats = await eventually(
      async () => (await client.getQueue('drop-ttl')).stats,
      (s) => s.expiredDropped === 1,
    );
    expect(stats).toMatchObject({ available: 0, expiredDropped: 1 });
  });

  it('refuses a queue as its own DLQ, a missing named DLQ, and deleting a DLQ in use', async () => {
    await expect(client.createQueue('selfish', { deadLetterQueue: 'selfish' })).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    await expect(client.createQueue('orphan', { deadLetterQueue: 'nowhere' })).rejects.toMatchObject({
      field: 'deadLetterQueue',
    });
    await client.createQueue('shared-dlq');
    await client.createQueue('uses-shared', { deadLetterQueue: 'shared-dlq' });
    await expect(client.deleteQueue('shared-dlq')).rejects.toBeInstanceOf(InvalidTransitionError);
  });
});

describe('grouped ordering and poison', () => {
  it('a poison message blocks only its own group, and only until it is dead-lettered', async () => {
    await client.createQueue('dl-groups', {
      ordering: 'grouped',
      maxDeliveries: 2,
      retry: { delayMs: 200, jitter: 0 },
    });
    await client.sendBatch('dl-groups', [
      { body: 'a-poison', groupKey: 'a' },
      { body: 'a-next', groupKey: 'a' },
      { body: 'b1', groupKey: 'b' },
      { body: 'b2', groupKey: 'b' },
    ]);
    const handled: string[] = [];
    await until(async () => {
      const batch = await client.receive<string>('dl-groups', { max: 10, waitMs: 500 });
      for (const m of batch) {
        if (m.body === 'a-poison') await client.nack('dl-groups', [m.receipt]);
        else {
          handled.push(m.body);
          await client.ack('dl-groups', [m.receipt]);
        }
      }
      return handled.includes('a-next');
    });
    // Group b ran to the end while a's poison was still retrying; a's next came only after.
    expect(handled).toEqual(['b1', 'b2', 'a-next']);
    expect((await deadLetters('dl-groups')).map((d) => d.body)).toEqual(['a-poison']);
  });
});

describe('redrive and purge', () => {
  async function bury(queue: string, count: number): Promise<void> {
    await client.createQueue(queue, { maxDeliveries: 1 });
    for (let i = 0; i < count; i += 1000) {
      const n = Math.min(1000, count - i);
      await client.sendBatch(
        queue,
        Array.from({ length: n }, (_, j) => ({ body: i + j, headers: { n: String(i + j) } })),
      );
    }
    for (;;) {
      const batch = await client.receive(queue, { max: 100 });
      if (batch.length === 0) break;
      await client.nack(
        queue,
        batch.map((m) => m.receipt),
        { deadLetter: true, reason: 'test' },
      );
    }
  }

  it('redrives back to the original queue: body and headers kept, audit header added, attempts reset', async () => {
    await bury('rd', 3);
    const [first] = await deadLetters('rd');
    expect(await client.redriveDeadLetters('rd', { ids: [first.id] })).toEqual({ moved: 1 });
    const [back] = await client.receive('rd');
    expect(back).toMatchObject({
      id: first.id,
      body: first.body,
      headers: { ...first.headers, 'mailroom-redriven-from': 'rd.dlq' },
      deliveryCount: 1,
    });
    const [{ attempts }] = await db.dataSource.query(
      `SELECT attempts FROM mailroom_message WHERE id = $1 AND dead_letter IS NULL`,
      [first.id],
    );
    expect(attempts).toBe(0);
    expect(await client.redriveDeadLetters('rd', { all: true, to: 'rd-elsewhere-missing' }).catch((e) => e.code)).toBe(
      'queue_not_found',
    );
    expect(await client.countDeadLetters('rd')).toBe(2);
  });

  it('redrives 10,000 dead letters in batches, none held in one long transaction', async () => {
    await bury('rd-bulk', 10_000);
    expect(await client.countDeadLetters('rd-bulk')).toBe(10_000);
    const progress: number[] = [];
    const result = await client.redriveDeadLetters('rd-bulk', { all: true, onProgress: (n) => progress.push(n) });
    expect(result).toEqual({ moved: 10_000 });
    expect(progress.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...progress.map((n, i) => n - (progress[i - 1] ?? 0)))).toBeLessThanOrEqual(1_000);
    expect((await client.getQueue('rd-bulk')).stats.available).toBe(10_000);
    expect(await client.countDeadLetters('rd-bulk')).toBe(0);
  });

  it('paces a redrive by ratePerSecond and pages with a cursor', async () => {
    await bury('rd-paced', 30);
    const first = await client.listDeadLetters('rd-paced', { limit: 20 });
    const second = await client.listDeadLetters('rd-paced', { limit: 20, cursor: first.nextCursor! });
    expect(first.deadLetters).toHaveLength(20);
    expect(second.deadLetters).toHaveLength(10);
    expect(second.nextCursor).toBeNull();
    const started = Date.now();
    await client.redriveDeadLetters('rd-paced', { all: true, ratePerSecond: 20 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('purges by ids or all, and refuses an empty filter, changing nothing', async () => {
    await bury('rd-purge', 3);
    await expect(client.purgeDeadLetters('rd-purge', {})).rejects.toMatchObject({ field: 'ids' });
    expect(await client.countDeadLetters('rd-purge')).toBe(3);
    const [one] = await deadLetters('rd-purge');
    expect(await client.purgeDeadLetters('rd-purge', { ids: [one.id] })).toEqual({ purged: 1 });
    expect(await client.purgeDeadLetters('rd-purge', { all: true })).toEqual({ purged: 2 });
  });
});
