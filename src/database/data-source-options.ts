import type { DataSourceOptions } from 'typeorm';
import { mailroomEntities, mailroomMigrations } from '@mailroom/core';
import { brokerMigrations } from './broker-migrations';

/**
 * Bounds on the broker's database work, so a request answers (503) rather than hangs
 * when PostgreSQL is stuck: no statement runs longer than `statementMs`, none waits
 * longer than `lockMs` for a lock, and none waits longer than `connectMs` for a pooled
 * connection (or to open one); a server that does not answer at all is given up on 2 s
 * after `statementMs` (pg's query_timeout). 0 disables a bound. These are the broker's choice for its
 * own pool: the library never sets them on an application's DataSource.
 */
export interface DatabaseTimeouts {
  /** MAILROOM_STATEMENT_TIMEOUT_MS (PostgreSQL statement_timeout). */
  statementMs: number;
  /** MAILROOM_LOCK_TIMEOUT_MS (PostgreSQL lock_timeout). */
  lockMs: number;
  /** MAILROOM_CONNECT_TIMEOUT_MS (pg's connectionTimeoutMillis). */
  connectMs: number;
}

const QUERY_TIMEOUT_MARGIN_MS = 2_000;

/** A request waits at most connectMs + statementMs per statement (~15 s) before its 503. */
export const DEFAULT_TIMEOUTS: DatabaseTimeouts = { statementMs: 10_000, lockMs: 5_000, connectMs: 5_000 };

/**
 * The one description of the broker's database, shared by the app, `migrate.ts` and the
 * TypeORM CLI. The schema comes only from migrations: `synchronize` would let TypeORM
 * rewrite tables whose hand-written indexes serve the hot-path SQL. Without `timeouts`
 * (migrate.ts, the CLI) statements are unbounded: a migration may take long. `pooled`: the
 * URL is a transaction pooler, and PgBouncer (1.18) refuses a connection whose startup
 * packet sets statement_timeout or lock_timeout: they are left to the server's settings
 * (README, "Behind PgBouncer"); the client-side query_timeout still bounds every statement.
 */
export function dataSourceOptions(
  url: string,
  migrationsRun: boolean,
  timeouts?: DatabaseTimeouts,
  { pooled = false }: { pooled?: boolean } = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: mailroomEntities,
    migrations: [...mailroomMigrations, ...brokerMigrations],
    migrationsRun,
    synchronize: false,
    applicationName: 'mailroom-broker',
    ...(timeouts && {
      connectTimeoutMS: timeouts.connectMs,
      extra: {
        ...(!pooled && { statement_timeout: timeouts.statementMs, lock_timeout: timeouts.lockMs }),
        // The server enforces statement_timeout, so a server that does not run at all (frozen,
        // or unreachable without a reset) never sends it: the client gives up a little later.
        query_timeout: timeouts.statementMs > 0 ? timeouts.statementMs + QUERY_TIMEOUT_MARGIN_MS : 0,
      },
    }),
  };
}
