import type { DataSource } from 'typeorm';

/** The tables a send → claim → ack cycle writes: their size and what autovacuum has to do. */
export const SOAK_TABLES = ['mailroom_message', 'mailroom_lease', 'mailroom_queue', 'mailroom_dedup'] as const;

export interface TableStats {
  /** Heap bytes (main fork). */
  heap: number;
  /** Bytes of all its indexes. */
  indexes: number;
  /** Heap + indexes + TOAST + free space and visibility maps. */
  total: number;
  live: number;
  dead: number;
  updates: number;
  hotUpdates: number;
  autovacuums: number;
  autoanalyzes: number;
}

/** One read of pg_stat_user_tables and the relation sizes; a missing table reads as zeros. */
export async function tableStats(dataSource: DataSource): Promise<Record<string, TableStats>> {
  const rows: Record<string, string>[] = await dataSource.query(
    `SELECT c.relname AS name,
            pg_relation_size(c.oid) AS heap, pg_indexes_size(c.oid) AS indexes,
            pg_total_relation_size(c.oid) AS total,
            s.n_live_tup AS live, s.n_dead_tup AS dead, s.n_tup_upd AS updates, s.n_tup_hot_upd AS hot,
            s.autovacuum_count AS autovacuums, s.autoanalyze_count AS autoanalyzes
       FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace`,
    [[...SOAK_TABLES]],
  );
  const out: Record<string, TableStats> = {};
  for (const r of rows) {
    out[r.name] = {
      heap: Number(r.heap),
      indexes: Number(r.indexes),
      total: Number(r.total),
      live: Number(r.live),
      dead: Number(r.dead),
      updates: Number(r.updates),
      hotUpdates: Number(r.hot),
      autovacuums: Number(r.autovacuums),
      autoanalyzes: Number(r.autoanalyzes),
    };
  }
  return out;
}

/** The server's settings that decide how the tables age (all defaults in the soak's own instance). */
export async function vacuumSettings(dataSource: DataSource): Promise<Record<string, string>> {
  const rows: { name: string; setting: string; unit: string | null }[] = await dataSource.query(
    `SELECT name, setting, unit FROM pg_settings
      WHERE name IN ('server_version', 'autovacuum', 'autovacuum_naptime', 'autovacuum_vacuum_scale_factor',
                     'autovacuum_vacuum_threshold', 'autovacuum_vacuum_insert_scale_factor',
                     'autovacuum_vacuum_cost_limit', 'autovacuum_vacuum_cost_delay', 'shared_buffers',
                     'max_wal_size', 'synchronous_commit', 'fsync')`,
  );
  const options: { relname: string; reloptions: string[] | null }[] = await dataSource.query(
    `SELECT relname, reloptions FROM pg_class WHERE relname = ANY($1) AND relnamespace = 'public'::regnamespace`,
    [[...SOAK_TABLES]],
  );
  const settings = Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting]));
  for (const o of options) settings[`${o.relname} reloptions`] = o.reloptions?.join(', ') || '(none)';
  return settings;
}
