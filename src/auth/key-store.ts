import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';

export interface StoredKey {
  id: string;
  name: string;
  hash: string;
  scopes: string[];
  createdAt: Date;
  revokedAt: Date | null;
}

export type NewKey = Pick<StoredKey, 'id' | 'name' | 'hash' | 'scopes'>;

/** Whether the broker may use named prepared statements (MAILROOM_PREPARED_STATEMENTS). */
export const PREPARED_STATEMENTS = Symbol('PREPARED_STATEMENTS');

interface Waiter {
  resolve(row: StoredKey | null): void;
  reject(error: unknown): void;
}

/** The mailroom_api_key table; every statement parameterised. */
@Injectable()
export class KeyStore {
  /** Lookups asked for since the last statement went out, by key id. */
  private asked: Map<string, Waiter[]> | null = null;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(PREPARED_STATEMENTS) private readonly prepared: boolean,
  ) {}

  /**
   * The key's row as committed now. Every request reads it (a revocation stops a key at its
   * very next request, on every broker), so the lookups asked for in one turn of the event
   * loop (requests read from sockets together) go as one statement, sent after all of them
   * arrived: each still sees every revocation committed before it came in. Straight on the
   * pool, no TypeORM query runner; a named prepared statement (no parse and plan) unless
   * the broker sits behind a transaction pooler that cannot keep one.
   */
  find(id: string): Promise<StoredKey | null> {
    return new Promise((resolve, reject) => {
      if (this.asked === null) {
        this.asked = new Map();
        setImmediate(() => this.lookUp());
      }
      const waiters = this.asked.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else this.asked.set(id, [{ resolve, reject }]);
    });
  }

  private lookUp(): void {
    const asked = this.asked!;
    this.asked = null;
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    pool
      .query<StoredKey>({
        name: this.prepared ? 'mailroom_api_key_find' : undefined,
        text: `${SELECT} WHERE id = ANY($1::text[])`,
        values: [[...asked.keys()]],
      })
      .then(
        ({ rows }) => {
          for (const [id, waiters] of asked) {
            const row = rows.find((r) => r.id === id) ?? null;
            for (const waiter of waiters) waiter.resolve(row);
          }
        },
        (error: unknown) => {
          for (const waiters of asked.values()) for (const waiter of waiters) waiter.reject(error);
        },
      );
  }

  list(): Promise<StoredKey[]> {
    return this.dataSource.query(`${SELECT} ORDER BY created_at, id`);
  }

  /** False when the id exists already (a seeded key started before; a revoked one stays revoked). */
  async insert(key: NewKey): Promise<boolean> {
    const rows = await this.dataSource.query(
      `INSERT INTO mailroom_api_key (id, name, hash, scopes) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [key.id, key.name, key.hash, key.scopes],
    );
    return rows.length === 1;
  }

  /** True when the key was live and is now revoked. */
  async revoke(id: string): Promise<boolean> {
    // TypeORM answers an UPDATE with [rows, affected count].
    const [, count] = await this.dataSource.query(
      `UPDATE mailroom_api_key SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`,
      [id],
    );
    return count === 1;
  }

  /**
   * Runs `create` only if no key is stored at all, under a transaction-scoped advisory lock:
   * two brokers starting together on an empty database must not both mint a first key.
   */
  async whenEmpty(create: () => Promise<NewKey>): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('mailroom_api_key'))`);
      const [{ count }] = await manager.query(`SELECT count(*)::int AS count FROM mailroom_api_key`);
      if (count > 0) return false;
      const key = await create();
      await manager.query(`INSERT INTO mailroom_api_key (id, name, hash, scopes) VALUES ($1, $2, $3, $4)`, [
        key.id,
        key.name,
        key.hash,
        key.scopes,
      ]);
      return true;
    });
  }
}

const SELECT = `SELECT id, name, hash, scopes, created_at AS "createdAt", revoked_at AS "revokedAt" FROM mailroom_api_key`;
