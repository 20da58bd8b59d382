import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, undoMigrationsThrough, type TestDatabase } from '../support/database';

/** Migration 1732000000012: VACUUM keeps the message table's empty tail pages (bench/SOAK.md). */
describe('the message table after the migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  const options = async (): Promise<string[] | null> =>
    (await db.dataSource.query(`SELECT reloptions FROM pg_class WHERE relname = 'mailroom_message'`))[0].reloptions;

  it('is not truncated by VACUUM; the migration’s down() gives truncation back, and up() takes it again', async () => {
    expect(await options()).toEqual(['vacuum_truncate=false']);
    await undoMigrationsThrough(db.dataSource, 'MessageHeapKept1732000000012');
    expect(await options()).toBeNull();
    await db.dataSource.runMigrations();
    expect(await options()).toEqual(['vacuum_truncate=false']);
  });
});
