import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueAutovacuum1732000000010 } from '../../migrations/1732000000010-queue-autovacuum';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * The churn tables vacuum on a fixed dead-row count, unthrottled (bench/SOAK.md): with the
 * default 20% scale factor a standing backlog of live rows would postpone every pass.
 */
describe('migration 1732000000010 (queue autovacuum)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  const reloptions = async () => {
    const rows: { relname: string; reloptions: string[] | null }[] = await db.dataSource.query(
      `SELECT relname, reloptions FROM pg_class
        WHERE relname IN ('mailroom_message', 'mailroom_lease', 'mailroom_outbox')
          AND relnamespace = current_schema()::regnamespace ORDER BY relname`,
    );
    return Object.fromEntries(rows.map((r) => [r.relname, r.reloptions ?? []]));
  };

  it('sets a fixed vacuum threshold and no cost delay on the churn tables, and down resets them', async () => {
    expect(await reloptions()).toEqual({
      mailroom_lease: [
        'autovacuum_vacuum_scale_factor=0',
        'autovacuum_vacuum_threshold=1000',
        'autovacuum_vacuum_cost_delay=0',
      ],
      mailroom_message: [
        'autovacuum_vacuum_scale_factor=0',
        'autovacuum_vacuum_threshold=10000',
        'autovacuum_vacuum_cost_delay=0',
      ],
      mailroom_outbox: [
        'autovacuum_vacuum_scale_factor=0',
        'autovacuum_vacuum_threshold=10000',
        'autovacuum_vacuum_cost_delay=0',
      ],
    });
    const runner = db.dataSource.createQueryRunner();
    try {
      await new QueueAutovacuum1732000000010().down(runner);
      expect(await reloptions()).toEqual({ mailroom_lease: [], mailroom_message: [], mailroom_outbox: [] });
    } finally {
      await runner.release();
    }
  });
});
