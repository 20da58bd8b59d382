import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_DELAY_SQL } from '@mailroom/core/dead-letter/bury.sql';
import { retryDelay, type RetryPolicy } from '@mailroom/core/queue/retry.policy';
import { createTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** The SQL formula (POLICY_DELAY_SQL, used where a statement fails a message) for one policy. */
async function sqlDelay(policy: RetryPolicy, failures: number): Promise<number> {
  const [{ delay }] = await db.dataSource.query(
    `SELECT ${POLICY_DELAY_SQL('$5::int')} AS delay
       FROM (SELECT $1::text AS retry_strategy, $2::int AS retry_delay_ms, $3::int AS retry_max_delay_ms,
                    $4::float8 AS retry_jitter) q`,
    [policy.strategy, policy.delayMs, policy.maxDelayMs, policy.jitter, failures - 1],
  );
  return Number(delay);
}

describe('the retry delay', () => {
  it('is the same in TypeScript (handler nacks) and in SQL (statement-side failures)', async () => {
    for (const strategy of ['fixed', 'exponential'] as const) {
      const policy: RetryPolicy = { strategy, delayMs: 250, maxDelayMs: 3_600_000, jitter: 0 };
      for (const failures of [1, 2, 3, 10, 20, 31, 40]) {
        expect(Math.round(await sqlDelay(policy, failures)), `${strategy} after ${failures}`).toBe(
          retryDelay(policy, failures),
        );
      }
    }
  });

  it('draws the same jitter range in both', async () => {
    const policy: RetryPolicy = { strategy: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.5 };
    for (let i = 0; i < 20; i++) {
      const delay = await sqlDelay(policy, 3);
      expect(delay).toBeGreaterThanOrEqual(retryDelay(policy, 3, () => 1) - 1);
      expect(delay).toBeLessThanOrEqual(retryDelay(policy, 3, () => 0) + 1);
    }
  });
});
