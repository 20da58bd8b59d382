import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * `synchronize: true` and `migration:generate` compare entities with the tables: if
 * Mailroom's entities said less than its migrations, TypeORM would drop Mailroom's own
 * indexes, columns and constraints. After the migrations ran, it must find nothing to do.
 */
describe('mailroomEntities', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('match the migrated schema: the schema builder has no change to make', async () => {
    const sql = await db.dataSource.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toEqual([]);
  });
});
