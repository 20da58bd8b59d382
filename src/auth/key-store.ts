import { Injectable } from '@nestjs/common';
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

/** The mailroom_api_key table; every statement parameterised. */
@Injectable()
export class KeyStore {
  constructor(private readonly dataSource: DataSource) {}

  async find(id: string): Promise<StoredKey | null> {
    const rows = await this.dataSource.query(`${SELECT} WHERE id = $1`, [id]);
    return rows[0] ?? null;
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
