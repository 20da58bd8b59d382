import { Client, Pool } from 'pg';
import type { BenchBody } from '../lib/body';
import { benchUrl, dropSchema, freshSchema } from '../lib/pg';
import { startPullLoop, type PullSource } from '../lib/pull';
import { packageVersion } from '../lib/versions';
import type { BenchSystem, QueueUnderTest, RunInfo } from './system';

/**
 * The baseline: the least a Postgres queue can do here. One table, a batched insert with
 * NOTIFY in the same statement, and a claim that deletes (at-most-once: no lease, no receipt,
 * no ack round trip). Anything a real queue adds (leases, fencing, dedup) costs relative to this.
 */
const SCHEMA_SQL = `
CREATE TABLE queue (id bigserial PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;

const INSERT_SQL = `
WITH stored AS (INSERT INTO queue (body) SELECT * FROM unnest($1::jsonb[]) RETURNING 1)
SELECT pg_notify('bench_raw', '') FROM (SELECT 1 FROM stored LIMIT 1) s`;

const CLAIM_SQL = `
DELETE FROM queue WHERE id IN (SELECT id FROM queue ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING body`;

const POLL_MS = 1_000;

export const rawSqlSystem: BenchSystem = {
  id: 'raw-sql',
  label: 'raw SQL baseline',
  store: 'postgres',
  role: 'baseline',
  describe: () => ({
    version: `pg ${packageVersion('pg')}`,
    settings:
      'pg.Pool max 10; INSERT ... SELECT unnest($1::jsonb[]) + pg_notify in one statement; consumers: `concurrency` ' +
      'loops of DELETE ... WHERE id IN (SELECT ... ORDER BY id LIMIT batch FOR UPDATE SKIP LOCKED) RETURNING ' +
      `(at-most-once, no ack); idle loops wait on LISTEN or a ${POLL_MS} ms poll`,
  }),
  probe: async () => null,
  open: (run) => openRaw(run),
};

async function openRaw(run: RunInfo): Promise<QueueUnderTest> {
  const schema = `bench_raw_${run.tag}`;
  await freshSchema(schema);
  const pool = new Pool({ connectionString: benchUrl(schema), max: 10, application_name: 'bench-raw' });
  await pool.query(SCHEMA_SQL);
  const listener = new Client({ connectionString: benchUrl(schema), application_name: 'bench-raw-listen' });
  await listener.connect();
  await listener.query('LISTEN bench_raw');
  const wake = new Wake();
  listener.on('notification', () => wake.fire());
  const insert = (bodies: BenchBody[]) => pool.query(INSERT_SQL, [bodies.map((b) => JSON.stringify(b))]);
  const source: PullSource<BenchBody> = {
    async receive(signal) {
      const armed = wake.arm();
      const { rows } = await pool.query<{ body: BenchBody }>(CLAIM_SQL, [run.settings.batch]);
      if (rows.length === 0) await armed.wait(POLL_MS, signal);
      armed.dispose();
      return rows.map((r) => r.body);
    },
    body: (b) => b,
    settle: async () => undefined,
  };
  return {
    send: async (body) => void (await insert([body])),
    sendBatch: async (bodies) => void (await insert(bodies)),
    consume: async (options) => startPullLoop(source, run.settings.concurrency, options, run.onError),
    pending: async () => Number((await pool.query('SELECT count(*) AS n FROM queue')).rows[0].n),
    close: async () => {
      await listener.end();
      await pool.end();
      await dropSchema(schema);
    },
  };
}

/** Arm before claiming, wait after an empty claim: a NOTIFY in between is not lost. */
class Wake {
  private readonly armed = new Set<{ woken: boolean; resolve?: () => void }>();

  fire(): void {
    for (const a of this.armed) {
      a.woken = true;
      a.resolve?.();
    }
  }

  arm() {
    const latch: { woken: boolean; resolve?: () => void } = { woken: false };
    this.armed.add(latch);
    return {
      wait: (ms: number, signal: AbortSignal) =>
        new Promise<void>((resolve) => {
          if (latch.woken || signal.aborted) return resolve();
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, ms);
          signal.addEventListener('abort', done);
          latch.resolve = done;
        }),
      dispose: () => this.armed.delete(latch),
    };
  }
}
