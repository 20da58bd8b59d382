import type { DataSourceOptions } from 'typeorm';
import { mailroomEntities, mailroomMigrations } from '@mailroom/core';

/**
 * The one description of the broker's database, shared by the app, `migrate.ts` and the
 * TypeORM CLI. The schema comes only from migrations: `synchronize` would let TypeORM
 * rewrite tables whose hand-written indexes serve the hot-path SQL.
 */
export function dataSourceOptions(url: string, migrationsRun: boolean): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: mailroomEntities,
    migrations: mailroomMigrations,
    migrationsRun,
    synchronize: false,
    applicationName: 'mailroom-broker',
  };
}
