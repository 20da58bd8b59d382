import { Client, Pool } from 'pg';
import type { BenchBody } from '../lib/body';
import { benchUrl, dropSchema, freshSchema } from '../lib/pg';
import { startPullLoop, type PullSource } from '../lib/pull';
import { packageVersion } from '../lib/versions';
import type { BenchSystem, QueueUnderTest, RunInfo } from './system';

/**
 * The baseline at its best: the least a Postgres queue can do here. One table; sends are a
 * plain INSERT (prepared, no trigger, no NOTIFY) while no consumer listens, so W1–W3 time the
 * bare insert; while a consumer of this queue runs (W4) the same statement also calls
 * pg_notify once per statement (not per row). The claim deletes (at-most-once: no lease, no
 * receipt, no ack round trip). Consumers follow the SKIP LOCKED queue recipe: one LISTEN
 * connection; a notification wakes ONE idle claim loop (no thundering herd), and a loop that
 * claimed a full batch wakes one more, so loops join in only while there is work.
 */
const SCHEMA_SQL = `
CREATE TABLE queue (id bigserial PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;

const INSERT_ONE = { name: 'raw-insert-one', text: 'INSERT INTO queue (body) VALUES ($1)' };
const INSERT_MANY = { name: 'raw-insert-many', text: 'INSERT INTO queue (body) SELECT * FROM unnest($1::jsonb[])' };
const INSERT_ONE_NOTIFY = {
  name: 'raw-insert-one-notify',
  text: `WITH stored AS (INSERT INTO queue (body) VALUES ($1) RETURNING 1)
         SELECT pg_notify('bench_raw', '') FROM stored`,
};
const INSERT_MANY_NOTIFY = {
  name: 'raw-insert-many-notify',
  text: `WITH stored AS (INSERT INTO queue (body) SELECT * FROM unnest($1::jsonb[]) RETURNING 1)
         SELECT pg_notify('bench_raw', '') FROM (SELECT 1 FROM stored LIMIT 1) s`,
};
const CLAIM = {
  name: 'raw-claim',
  text: `DELETE FROM queue WHERE id IN (SELECT id FROM queue ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING body`,
};

const POLL_MS = 1_000;

export const rawSqlSystem: BenchSystem = {
  id: 'raw-sql',
  label: 'raw SQL baseline',
  store: 'postgres',
  role: 'baseline',
  describe: () => ({
    version: `pg ${packageVersion('pg')}`,
    settings:
      'pg.Pool max 10, prepared statements; send: INSERT ... VALUES ($1), batch: INSERT ... SELECT unnest($1::jsonb[]), ' +
      'no trigger and no NOTIFY while no consumer runs (W1–W3); while a consumer runs (W4) the insert statement also ' +
      'calls pg_notify once (statement-level, in the same statement, no trigger); consumers: `concurrency` loops of ' +
      'DELETE ... WHERE id IN (SELECT ... ORDER BY id LIMIT batch FOR UPDATE SKIP LOCKED) RETURNING (at-most-once, ' +
      `no ack); one LISTEN connection; a notification wakes one idle loop, a full batch wakes one more; ${POLL_MS} ms poll`,
  }),
  probe: async () => null,
  open: (run) => openRaw(run),
};

async function openRaw(run: RunInfo): Promise<QueueUnderTest> {
  const schema = `bench_raw_${run.tag}`;
  await freshSchema(schema);
  const pool = new Pool({ connectionString: benchUrl(schema), max: 10, application_name: 'bench-raw' });
  await pool.query(SCHEMA_SQL);
  let consumers = 0;
  const insert = async (bodies: BenchBody[]) => {
    if (bodies.length === 1) {
      await pool.query({ ...(consumers ? INSERT_ONE_NOTIFY : INSERT_ONE), values: [JSON.stringify(bodies[0])] });
    } else {
      await pool.query({
        ...(consumers ? INSERT_MANY_NOTIFY : INSERT_MANY),
        values: [bodies.map((b) => JSON.stringify(b))],
      });
    }
  };
  return {
    send: (body) => insert([body]),
    sendBatch: (bodies) => insert(bodies),
    consume: async (options) => {
      const listener = new Client({ connectionString: benchUrl(schema), application_name: 'bench-raw-listen' });
      await listener.connect();
      const wake = new Wake();
      listener.on('notification', () => wake.one());
      await listener.query('LISTEN bench_raw');
      consumers += 1;
      const source: PullSource<BenchBody> = {
        async receive(signal) {
          const turn = wake.arm();
          const { rows } = await pool.query<{ body: BenchBody }>({ ...CLAIM, values: [run.settings.batch] });
          if (rows.length === run.settings.batch) wake.one();
          if (rows.length === 0) await turn.wait(POLL_MS, signal);
          turn.dispose();
          return rows.map((r) => r.body);
        },
        body: (b) => b,
        settle: async () => undefined,
      };
      const loops = startPullLoop(source, run.settings.concurrency, options, run.onError);
      return {
        async stop() {
          await loops.stop();
          consumers -= 1;
          await listener.end();
        },
      };
    },
    pending: async () => Number((await pool.query('SELECT count(*) AS n FROM queue')).rows[0].n),
    close: async () => {
      await pool.end();
      await dropSchema(schema);
    },
  };
}

type Turn = { woken: boolean; resolve?: () => void };

/**
 * Wake-ups for idle loops, one at a time. A loop arms its turn BEFORE it claims and waits on it
 * only after an empty claim, so a notification that arrives while it claims is not lost; each
 * notification goes to the oldest armed turn not yet woken.
 */
class Wake {
  private readonly turns = new Set<Turn>();

  one(): void {
    for (const turn of this.turns) {
      if (turn.woken) continue;
      turn.woken = true;
      turn.resolve?.();
      return;
    }
  }

  arm() {
    const turn: Turn = { woken: false };
    this.turns.add(turn);
    return {
      wait: (ms: number, signal: AbortSignal) =>
        new Promise<void>((resolve) => {
          if (turn.woken || signal.aborted) return resolve();
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, ms);
          signal.addEventListener('abort', done);
          turn.resolve = done;
        }),
      dispose: () => this.turns.delete(turn),
    };
  }
}
