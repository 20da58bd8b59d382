import { DataSource } from 'typeorm';
import { mailroomEntities, mailroomMigrations } from '@mailroom/core';
import { Client } from 'pg';
import { Socket } from 'node:net';

/** Every system shares this one local server; only loopback addresses are ever used. */
export const PG_HOST = '127.0.0.1';
export const PG_PORT = 5432;
export const BENCH_DB = 'mailroom_bench';
const ADMIN_URL = `postgres://postgres@${PG_HOST}:${PG_PORT}/postgres`;

/** The bench database, optionally with `search_path` pinned to one run's schema. */
export function benchUrl(schema?: string): string {
  const base = `postgres://postgres@${PG_HOST}:${PG_PORT}/${BENCH_DB}`;
  return schema ? `${base}?options=${encodeURIComponent(`-c search_path=${schema}`)}` : base;
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, application_name: 'mailroom-bench-admin' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the bench database once; it is never the `test` database other work uses. */
export async function ensureBenchDatabase(): Promise<void> {
  await withClient(ADMIN_URL, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DB]);
    if (!rowCount) await client.query(`CREATE DATABASE ${BENCH_DB}`);
  });
}

/** Run tags and system ids are ours ([a-z0-9_]), never user input; checked anyway. */
function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad schema name ${name}`);
  return name;
}

export async function freshSchema(schema: string): Promise<void> {
  await withClient(benchUrl(), async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    await client.query(`CREATE SCHEMA ${ident(schema)}`);
  });
}

export async function dropSchema(schema: string): Promise<void> {
  await withClient(benchUrl(), (client) => client.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`));
}

/**
 * Drops what an interrupted earlier bench left behind (schemas named `bench_*`), unless
 * another session is connected to the bench database: then a bench may be running, and its
 * schemas are not leftovers.
 */
export async function dropLeftoverSchemas(): Promise<void> {
  await withClient(benchUrl(), async (client) => {
    const others = await client.query(
      'SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    if (others.rowCount) {
      console.warn('Another session uses the bench database (a bench running?): leftover schemas are kept.');
      return;
    }
    const { rows } = await client.query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\\_%'`,
    );
    for (const { nspname } of rows) await client.query(`DROP SCHEMA ${ident(nspname)} CASCADE`);
  });
}

/** Between runs: flush dirty pages so one run's writes are not paid for by the next. */
export async function checkpoint(): Promise<void> {
  await withClient(benchUrl(), (client) => client.query('CHECKPOINT'));
}

/** Runs `sql` in the bench database (with `search_path` = schema when given). */
export async function benchQuery<R extends Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
  schema?: string,
): Promise<R[]> {
  return withClient(benchUrl(schema), async (client) => (await client.query<R>(sql, params)).rows);
}

export interface PostgresFacts {
  version: string;
  settings: Record<string, string>;
}

const SETTINGS = [
  'shared_buffers',
  'max_connections',
  'synchronous_commit',
  'fsync',
  'wal_level',
  'max_wal_size',
  'checkpoint_timeout',
  'work_mem',
  'effective_io_concurrency',
  'autovacuum',
  'shared_preload_libraries',
];

export async function postgresFacts(): Promise<PostgresFacts> {
  return withClient(benchUrl(), async (client) => {
    const version = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0].v;
    const { rows } = await client.query<{ name: string; setting: string; unit: string | null }>(
      'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)',
      [SETTINGS],
    );
    const settings = Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} (${r.unit})` : r.setting]));
    return { version, settings };
  });
}

/** A TCP connect to a loopback port, bounded in time: is the server there at all? */
export function reachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/** A migrated TypeORM DataSource for Mailroom on the run's schema, as a Nest app would configure it. */
export async function openMailroomDataSource(schema: string, applicationName: string): Promise<DataSource> {
  const dataSource = new DataSource({
    type: 'postgres',
    url: benchUrl(schema),
    schema,
    entities: mailroomEntities,
    migrations: mailroomMigrations,
    migrationsRun: true,
    applicationName,
  });
  await dataSource.initialize();
  return dataSource;
}
