import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, undoMigrationsThrough, type TestDatabase } from '../support/database';

/** Migration 1732000000013: delayed messages have an index of their own, outside the claim index. */
describe('the claim indexes after the migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  const indexes = async (): Promise<Record<string, string>> => {
    const rows: { indexname: string; indexdef: string }[] = await db.dataSource.query(
      `SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename = 'mailroom_message' AND indexname IN ('mailroom_message_claim', 'mailroom_message_delayed')`,
    );
    return Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef.replace(/.* USING btree /, '')]));
  };

  it('splits ready and delayed messages; down() restores the one claim index, and up() splits them again', async () => {
    const split = {
      mailroom_message_claim: '(queue_id, seq) WHERE ((lease_id IS NULL) AND (visible_at <= created_at))',
      mailroom_message_delayed: '(queue_id, visible_at) WHERE ((lease_id IS NULL) AND (visible_at > created_at))',
    };
    expect(await indexes()).toEqual(split);
    await undoMigrationsThrough(db.dataSource, 'DelayedMessagesApart1732000000013');
    expect(await indexes()).toEqual({ mailroom_message_claim: '(queue_id, seq) WHERE (lease_id IS NULL)' });
    await db.dataSource.runMigrations();
    expect(await indexes()).toEqual(split);
  });
});
