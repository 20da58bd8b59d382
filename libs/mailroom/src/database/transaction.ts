import type { Pool, PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { DatabaseUnavailableError } from '../errors/mailroom.errors';
import type { Statement } from './sql-params';

/** Accepted by every write: pass the caller's EntityManager to join its transaction. */
export interface TransactionOptions {
  manager?: EntityManager;
}

/** Joins the caller's transaction when `manager` is inside one; otherwise opens one. */
export function inTransaction<T>(
  dataSource: DataSource,
  manager: EntityManager | undefined,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  if (manager?.queryRunner?.isTransactionActive) return work(manager);
  return (manager ?? dataSource.manager).transaction(work);
}

/**
 * Runs one hand-written statement and returns its rows: on the connection of the
 * manager's query runner (and so inside its transaction) when there is one, else on the
 * pool. It goes to `pg` directly: TypeORM's `query` reshapes UPDATE/DELETE results and
 * adds per-call overhead the hot paths do not need.
 */
export async function query<R = Record<string, unknown>>(
  manager: EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const runner = manager.queryRunner;
  if (runner) {
    // Never fall back to the pool for a manager that has its own connection: after that
    // connection died, a pooled one would run this statement outside the caller's
    // transaction and commit it on its own (an ack without its effects, say).
    if (runner.isReleased) {
      throw new DatabaseUnavailableError("The transaction's database connection was lost; it is rolled back. Retry.");
    }
    const client = (await runner.connect()) as PoolClient;
    return (await client.query(statement(manager.connection, sql, params))).rows as R[];
  }
  const pool = (manager.connection.driver as unknown as { master: Pool }).master;
  return (await pool.query(statement(manager.connection, sql, params))).rows as R[];
}

/** query() for a statement whose parameters are named (sql-params.ts). */
export function execute<R = Record<string, unknown>, K extends string = string>(
  manager: EntityManager,
  sql: Statement<K>,
  args: { readonly [name in K]: unknown },
): Promise<R[]> {
  return query<R>(manager, sql.text, sql.values(args));
}

const names = new Map<string, string>();
const unprepared = new WeakSet<DataSource>();

/**
 * Turns named prepared statements off (or back on) for every statement Mailroom runs on
 * `dataSource`. Off behind a pooler in transaction mode (PgBouncer before 1.21, or with
 * max_prepared_statements = 0): each transaction may land on another server connection,
 * where the name is unknown ("prepared statement does not exist") or, prepared there by
 * another process, names a different statement. Unnamed statements are parsed and
 * planned at every execution instead.
 */
export function setPreparedStatements(dataSource: DataSource, on: boolean): void {
  if (on) unprepared.delete(dataSource);
  else unprepared.add(dataSource);
}

function statement(dataSource: DataSource, text: string, values: unknown[]): { text: string; values: unknown[] } {
  return unprepared.has(dataSource) ? { text, values } : prepared(text, values);
}

/**
 * Every statement Mailroom runs is constant text, so each is a named prepared statement:
 * `pg` prepares it once per connection and later executions skip parsing and planning,
 * which for the CTE-heavy hot paths is a large part of their cost.
 */
function prepared(text: string, values: unknown[]): { name: string; text: string; values: unknown[] } {
  let name = names.get(text);
  if (name === undefined) {
    name = `mailroom_${names.size}`;
    names.set(text, name);
  }
  return { name, text, values };
}

/**
 * The server refused the statement for the data it carried: SQLSTATE class 22 "data
 * exception" (a value jsonb or text cannot hold), 23 "integrity constraint violation" or
 * 54 "program limit exceeded" (nesting too deep). The statement was rolled back and left
 * nothing behind, and the same statement without the offending data may succeed. Not so
 * for a lost connection (it may have committed), nor for a timeout, a lack of resources
 * or a serialization failure, which are no one value's fault.
 */
export function refusedForItsData(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}
