import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { inject } from 'vitest';
import { mailroomEntities, mailroomMigrations, MailroomClient, type MailroomOptions } from '@mailroom/core';

export interface TestDatabase {
  url: string;
  dataSource: DataSource;
  /** A further pool on the same database, for transactions that must really overlap. */
  newDataSource(): Promise<DataSource>;
  drop(): Promise<void>;
}

/** A fresh database with Mailroom's migrations applied: one per test file. */
export async function createTestDatabase(serverUrl: string = inject('databaseUrl')): Promise<TestDatabase> {
  const { url, drop } = await createEmptyDatabase(serverUrl);
  const dataSources: DataSource[] = [];
  const newDataSource = async (migrate = false) => {
    const ds = new DataSource({
      type: 'postgres',
      url,
      entities: mailroomEntities,
      migrations: mailroomMigrations,
      migrationsRun: migrate,
      extra: { max: 20 },
    });
    await ds.initialize();
    dataSources.push(ds);
    return ds;
  };
  const dataSource = await newDataSource(true);
  return {
    url,
    dataSource,
    newDataSource: () => newDataSource(false),
    async drop() {
      await Promise.all(dataSources.map((ds) => (ds.isInitialized ? ds.destroy() : undefined)));
      await drop();
    },
  };
}

/** A fresh database without any table, for an app that runs its migrations itself. */
export async function createEmptyDatabase(
  serverUrl: string = inject('databaseUrl'),
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `mailroom_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `CREATE DATABASE ${name}`);
  return {
    url: withDatabase(serverUrl, name),
    drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** A started client with fast chores, so lease-expiry tests do not wait long. */
export async function startClient(dataSource: DataSource, options: MailroomOptions = {}): Promise<MailroomClient> {
  const client = new MailroomClient(dataSource, { reaperIntervalMs: 100, pollIntervalMs: 200, ...options });
  await client.start();
  return client;
}

/** `count` started clients, each on its own pool, as separate nodes of one deployment. */
export function startNodes(db: TestDatabase, count: number, options: MailroomOptions = {}): Promise<MailroomClient[]> {
  return Promise.all(Array.from({ length: count }, async () => startClient(await db.newDataSource(), options)));
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
