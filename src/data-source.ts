import { DataSource } from 'typeorm';
import { loadConfig } from './config';
import { dataSourceOptions } from './database/data-source-options';

/**
 * For the TypeORM CLI (`typeorm -d dist/src/data-source.js migration:show`), which wants
 * a module exporting exactly one DataSource. It needs DATABASE_URL: only the broker
 * itself (main.ts, migrate.ts) starts an embedded PostgreSQL.
 */
function databaseUrl(): string {
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error('DATABASE_URL is required for the TypeORM CLI.');
  return databaseUrl;
}

export default new DataSource(dataSourceOptions(databaseUrl(), false));
