import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { retryDelaySql } from '@mailroom/core/queue/retry.policy.sql';
import type { RetryPolicy } from '@mailroom/core/queue/retry.policy';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';

let db: TestDatabase;
let client: MailroomClient;
beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

/** The one retry-delay formula (retryDelaySql, in every statement that records a failure) for one policy. */
async function delay(policy: RetryPolicy, failures: number): Promise<number> {
  const formula = retryDelaySql(
    { strategy: '$1::text', delayMs: '$2::int', maxDelayMs: '$3::int', jitter: '$4::float8' },
    '$5::int',
  );
  const [row] = await db.dataSource.query(`SELECT ${formula} AS delay`, [
    policy.strategy,
    policy.delayMs,
    policy.maxDelayMs,
    policy.jitter,
    failures - 1,
  ]);
  return Number(row.delay);
}

/** The delay the queue's one message was nacked with, in ms: the nack sets both columns from one now(). */
async function nackedWith(queue: string): Promise<number> {
  const [row] = await db.dataSource.query(
    `SELECT extract(epoch FROM m.visible_at - m.last_failed_at) * 1000 AS ms
       FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = $1`,
    [queue],
  );
  return Number(row.ms);
}

describe('the retry delay', () => {
  it('doubles exponential delays up to the maximum', async () => {
    const policy: RetryPolicy = { strategy: 'exponential', delayMs: 100, maxDelayMs: 1_000, jitter: 0 };
    const delays = [];
    for (const failures of [1, 2, 3, 4, 5, 50]) delays.push(await delay(policy, failures));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('keeps fixed delays fixed', async () => {
    const policy: RetryPolicy = { strategy: 'fixed', delayMs: 250, maxDelayMs: 3_600_000, jitter: 0 };
    for (const failures of [1, 2, 10, 31, 40]) expect(await delay(policy, failures)).toBe(250);
  });

  it('spreads delays by jitter, within [delay·(1−jitter), delay]', async () => {
    const policy: RetryPolicy = { strategy: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.5 };
    const drawn = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const value = await delay(policy, 3);
      expect(value).toBeGreaterThanOrEqual(2_000);
      expect(value).toBeLessThanOrEqual(4_000);
      drawn.add(value);
    }
    expect(drawn.size).toBeGreaterThan(1);
  });

  it("a nack's own policy (a handler's retry) decides over the queue's, an explicit delay over both", async () => {
    const hour = 3_600_000;
    await client.createQueue('retry-policies', {
      retry: { strategy: 'fixed', delayMs: hour, maxDelayMs: hour, jitter: 0 },
    });
    const nackOnce = async (options: Parameters<MailroomClient['nack']>[2]) => {
      await client.send('retry-policies', 'x');
      const [m] = await client.receive('retry-policies', { consumer: 'w' });
      await client.nack('retry-policies', [m.receipt], options);
      const ms = await nackedWith('retry-policies');
      await client.purgeQueue('retry-policies');
      return ms;
    };
    expect(await nackOnce({})).toBe(hour);
    expect(await nackOnce({ retry: { strategy: 'fixed', delayMs: 60_000, jitter: 0 } })).toBe(60_000);
    expect(await nackOnce({ delayMs: 0, retry: { delayMs: 30_000 } })).toBe(0);
  });

  it("refuses a nack's bad retry policy, naming the field", async () => {
    await client.createQueue('retry-refused');
    await client.send('retry-refused', 'x');
    const [m] = await client.receive('retry-refused', { consumer: 'w' });
    await expect(client.nack('retry-refused', [m.receipt], { retry: { jitter: 2 } })).rejects.toThrow(/retry\.jitter/);
    await client.ack('retry-refused', [m.receipt]); // the refused nack changed nothing
  });
});
