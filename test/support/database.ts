import { DataSource } from 'typeorm';
import { afterAll, beforeAll, inject } from 'vitest';
import { mailroomEntities, mailroomMigrations, MailroomClient, type MailroomOptions } from '@mailroom/core';
import {
  createTestDatabase as createMailroomTestDatabase,
  type TestDatabase as MailroomTestDatabase,
} from '@mailroom/core/testing';

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
export function createEmptyDatabase(serverUrl: string = inject('databaseUrl')): Promise<MailroomTestDatabase> {
  return createMailroomTestDatabase(serverUrl, { migrations: false });
}

/** A started client with fast chores, so lease-expiry tests do not wait long. */
export async function startClient(dataSource: DataSource, options: MailroomOptions = {}): Promise<MailroomClient> {
  const client = new MailroomClient(dataSource, { reaperIntervalMs: 100, pollIntervalMs: 200, ...options });
  await client.start();
  return client;
}

/**
 * A fresh database and a started client for one test file: made before its tests
 * (beforeAll), closed and dropped after them (afterAll). Read `db` and `client` in tests.
 */
export function databaseWithClient(options: MailroomOptions = {}): {
  readonly db: TestDatabase;
  readonly client: MailroomClient;
} {
  const made = {} as { db: TestDatabase; client: MailroomClient };
  beforeAll(async () => {
    made.db = await createTestDatabase();
    made.client = await startClient(made.db.dataSource, options);
  });
  afterAll(async () => {
    await made.client?.close();
    await made.db?.drop();
  });
  return made;
}

/** `count` started clients, each on its own pool, as separate nodes of one deployment. */
export function startNodes(db: TestDatabase, count: number, options: MailroomOptions = {}): Promise<MailroomClient[]> {
  return Promise.all(Array.from({ length: count }, async () => startClient(await db.newDataSource(), options)));
}

/** Undoes the executed migrations newest first, down to and including the one named `name`. */
export async function undoMigrationsThrough(dataSource: DataSource, name: string): Promise<void> {
  for (;;) {
    const [last] = await dataSource.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`);
    if (!last) throw new Error(`migration ${name} was never run`);
    await dataSource.undoLastMigration();
    if (last.name === name) return;
  }
}
