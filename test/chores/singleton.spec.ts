import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
// Not part of the public API: the helper every singleton chore (reaper, janitor, relay) runs through.
import { asSingleton, CHORE_LOCKS } from '../../libs/mailroom/src/database/singleton';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * DESIGN.md: the lease reaper, the janitor and the outbox relay run on one node at a time.
 * Each run of an observable chore records its start and end (database clock) in a table
 * and takes a while in between, so two nodes running it at once leave overlapping rows.
 */
let db: TestDatabase;
let nodes: DataSource[];

beforeAll(async () => {
  db = await createTestDatabase();
  nodes = await Promise.all(Array.from({ length: 4 }, () => db.newDataSource()));
  await db.dataSource.query(
    `CREATE TABLE chore_run (id serial PRIMARY KEY, node int NOT NULL, started timestamptz NOT NULL, ended timestamptz)`,
  );
});
afterAll(async () => {
  await db?.drop();
});

/** One run of the chore on `node`: recorded, and slow enough that runs without the lock overlap. */
const run = (node: number) =>
  asSingleton(nodes[node], CHORE_LOCKS.janitor, async (tx) => {
    const [{ id }] = await tx.query(
      `INSERT INTO chore_run (node, started) VALUES ($1, clock_timestamp()) RETURNING id`,
      [node],
    );
    await tx.query(`SELECT pg_sleep(0.05)`);
    await tx.query(`UPDATE chore_run SET ended = clock_timestamp() WHERE id = $1`, [id]);
  });

describe('singleton chores', () => {
  it('run on one node at a time: no two runs overlap, and at least one runs', async () => {
    const rounds = 10;
    // Every node tries the chore in every round, all at once: the contention of four nodes' timers.
    const ran = await Promise.all(
      nodes.map(async (_, node) => {
        let mine = 0;
        for (let round = 0; round < rounds; round += 1) if (await run(node)) mine += 1;
        return mine;
      }),
    );
    const [{ runs }] = await db.dataSource.query(`SELECT count(*)::int AS runs FROM chore_run`);
    expect(runs).toBe(ran.reduce((a, b) => a + b, 0));
    expect(runs).toBeGreaterThanOrEqual(1);
    const overlaps = await db.dataSource.query(
      `SELECT a.id, b.id FROM chore_run a JOIN chore_run b
          ON a.id < b.id AND a.started < b.ended AND b.started < a.ended`,
    );
    expect(overlaps).toEqual([]);
  });

  it('skips the chore, rather than waiting, while another node holds its lock', async () => {
    const held = nodes[0].createQueryRunner();
    await held.startTransaction();
    await held.query('SELECT pg_advisory_xact_lock($1)', [CHORE_LOCKS.janitor]);
    const before = (await db.dataSource.query(`SELECT count(*)::int AS n FROM chore_run`))[0].n;
    expect(await Promise.all([1, 2, 3].map(run))).toEqual([false, false, false]);
    expect((await db.dataSource.query(`SELECT count(*)::int AS n FROM chore_run`))[0].n).toBe(before);
    await held.commitTransaction();
    await held.release();
    expect(await run(1)).toBe(true);
  });
});
