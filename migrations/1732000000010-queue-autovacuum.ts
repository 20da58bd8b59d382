import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Autovacuum for the tables a message churns through (insert → claim update → delete): their
 * live rows stay few while dead versions pile up at the send rate, so the default trigger
 * (50 + 20% of live rows) is reached at once and the limit is how fast a run finishes, which
 * the default cost delay throttles. Here: a fixed threshold (no scale factor) and no cost
 * delay, so each autovacuum pass (at most one per `autovacuum_naptime`, a server setting)
 * clears what accumulated since the last one in one unthrottled sweep. Measured by the soak
 * (bench/soak, bench/SOAK.md). Storage parameters only: entities and queries are unaffected.
 */
const TABLES: [string, number][] = [
  ['mailroom_message', 10_000],
  ['mailroom_lease', 1_000],
  ['mailroom_outbox', 10_000],
];

export class QueueAutovacuum1732000000010 implements MigrationInterface {
  name = 'QueueAutovacuum1732000000010';

  async up(q: QueryRunner): Promise<void> {
    for (const [table, threshold] of TABLES) {
      await q.query(`ALTER TABLE ${table} SET (
        autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = ${threshold},
        autovacuum_vacuum_cost_delay = 0)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table] of TABLES) {
      await q.query(`ALTER TABLE ${table} RESET (
        autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay)`);
    }
  }
}
