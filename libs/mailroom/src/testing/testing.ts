import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource, type MixedList } from 'typeorm';
import type { MailroomClient } from '../client/mailroom.client';
import { mailroomMigrations } from '../../../../migrations';

export interface TestDatabase {
  /** Point the app under test here (its DATABASE_URL). */
  url: string;
  /** Drops the database, closing whatever is still connected to it. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Run Mailroom's migrations, then these (default: Mailroom's only); `false`: an empty database. */
  migrations?: MixedList<Function> | false;
}

/**
 * A fresh database on the server at `serverUrl` (for example your CI's DATABASE_URL),
 * with Mailroom's migrations applied, so each test file gets tables of its own.
 */
export async function createTestDatabase(serverUrl: string, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  // A generated name, never one from input: identifiers cannot be query parameters.
  const name = `mailroom_test_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `CREATE DATABASE ${name}`);
  const url = withDatabase(serverUrl, name);
  const drop = () => admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  if (options.migrations !== false) {
    const migrations = [...mailroomMigrations, ...Object.values(options.migrations ?? [])];
    const dataSource = new DataSource({ type: 'postgres', url, migrations });
    try {
      await dataSource.initialize();
      await dataSource.runMigrations({ transaction: 'all' });
    } catch (error) {
      await drop();
      throw error;
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
    }
  }
  return { url, drop };
}

export interface WaitOptions {
  /** Fail after this long rather than hang the test (ms, default 10000). */
  timeoutMs?: number;
}

/**
 * Resolves once `queue` holds nothing deliverable, in flight or delayed: every message
 * sent so far was handled and its ack committed (or it was dead-lettered).
 */
export async function waitUntilDrained(
  client: MailroomClient,
  queue: string,
  options: WaitOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { stats } = await client.getQueue(queue);
    if (stats.available + stats.inFlight + stats.delayed === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`queue "${queue}" not drained within ${timeoutMs} ms: ${JSON.stringify(stats)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function withDatabase(url: string, database: string): string {
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
