import type { DataSource } from 'typeorm';
import type { Pool, PoolClient } from 'pg';
import { MailroomClient, type ReceivedMessage } from '@mailroom/core';
import type { BenchArgs } from './lib/args';
import { makeBodies, makeBody, now } from './lib/body';
import { benchQuery, dropSchema, freshSchema, openMailroomDataSource } from './lib/pg';
import { lanes, percentile } from './lib/timing';

/**
 * What Mailroom's hot path costs, statement by statement, for the optimisation work:
 * client-side round-trip times of every statement the library sends (the DataSource's pg pool
 * is wrapped), EXPLAIN (ANALYZE, BUFFERS) of send, claim and ack with real parameters (each in a
 * rolled-back transaction on a side connection), and the table counters afterwards.
 * pg_stat_statements would be better but needs shared_preload_libraries (a server restart).
 */
export async function writeHotPathNotes(args: BenchArgs): Promise<string> {
  const schema = 'bench_hotpath';
  await freshSchema(schema);
  const dataSource = await openMailroomDataSource(schema, 'bench-hotpath');
  const client = new MailroomClient(dataSource);
  await client.start();
  try {
    await client.createQueue('hot');
    return await measure(client, dataSource, schema, args);
  } catch (error) {
    return `Hot-path measurement failed: ${error}`;
  } finally {
    await client.close();
    await dataSource.destroy();
    await dropSchema(schema);
  }
}

type Statement = string | { name?: string; text: string; values?: unknown[] };

interface Sample {
  times: number[];
  plan?: string;
}

async function measure(client: MailroomClient, dataSource: DataSource, schema: string, args: BenchArgs) {
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const samples = new Map<string, Sample>();
  const explainQueue = new Set<string>();
  const original = pool.query.bind(pool) as (statement: Statement, params?: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: unknown }).query = async (statement: Statement, params?: unknown[]) => {
    // The library passes text + values, or a named prepared statement { name, text, values }.
    const text = typeof statement === 'string' ? statement : statement.text;
    const values = typeof statement === 'string' ? (params ?? []) : (statement.values ?? []);
    const key = statementKey(text);
    const sample = samples.get(key) ?? { times: [] };
    samples.set(key, sample);
    if (explainQueue.has(key)) {
      explainQueue.delete(key);
      sample.plan = await explain(pool, text, values);
    }
    const started = now();
    try {
      return await original(statement, params);
    } finally {
      sample.times.push(now() - started);
    }
  };
  const n = Math.min(args.n, 20_000);
  const queue = 'hot';
  for (let i = 0; i < 500; i += 1) await client.send(queue, makeBody('hot', i));
  for (const key of [...samples.keys()]) explainQueue.add(key);
  for (let i = 500; i < 1000; i += 1) await client.send(queue, makeBody('hot', i));
  for (let i = 1000; i < n; i += 1000)
    await client.sendBatch(
      queue,
      makeBodies('hot', i, 1000).map((body) => ({ body })),
    );
  const afterSend = new Set(samples.keys());
  let first = true;
  let received = 0;
  await lanes(args.concurrency, args.concurrency, async () => {
    for (;;) {
      const batch: ReceivedMessage[] = await client.receive(queue, { consumer: 'hot', max: args.batch, waitMs: 200 });
      if (batch.length === 0) return;
      if (first) {
        first = false;
        for (const key of samples.keys()) if (!afterSend.has(key)) explainQueue.add(key);
        explainQueue.add('ACK');
      }
      received += batch.length;
      await client.ack(
        queue,
        batch.map((m) => m.receipt),
      );
    }
  });
  const [stats] = await benchQuery<Record<string, string>>(
    `SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_dead_tup,
            coalesce(greatest(last_analyze, last_autoanalyze)::text, 'never') AS analyzed,
            (SELECT count(*) FROM ${schema}.mailroom_lease) AS leases,
            pg_size_pretty(pg_total_relation_size('${schema}.mailroom_message')) AS size
       FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'mailroom_message'`,
    [schema],
  );
  return render(samples, stats, received, n, args);
}

/** Groups statements by their first meaningful words (the SQL texts are constants). */
function statementKey(sql: string): string {
  const text = String(sql).replace(/\s+/g, ' ').trim();
  if (/^WITH r AS .* DELETE FROM mailroom_message/.test(text)) return 'ACK';
  return text.slice(0, 90);
}

async function explain(pool: Pool, sql: string, params: unknown[]): Promise<string> {
  let conn: PoolClient | undefined;
  try {
    conn = await pool.connect();
    await conn.query('BEGIN');
    const { rows } = await conn.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
    return rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
  } catch (error) {
    return `EXPLAIN failed: ${error}`;
  } finally {
    await conn?.query('ROLLBACK').catch(() => undefined);
    conn?.release();
  }
}

function render(
  samples: Map<string, Sample>,
  stats: Record<string, string> | undefined,
  received: number,
  n: number,
  args: BenchArgs,
) {
  const rows = [...samples.entries()].filter(([, s]) => s.times.length > 0);
  const lines = [
    `Produced 1,000 single sends then ${n - 1000} in batches of 1,000; consumed by ${args.concurrency} pull loops ` +
      `(max ${args.batch}), ${received} received. Client-side round trip of each statement the library sent ` +
      '(pool.query wrapped; includes pool wait and the commit):',
    '',
    '| statement (start) | calls | mean ms | p50 ms | p99 ms | total ms |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(([key, s]) => {
      const total = s.times.reduce((a, b) => a + b, 0);
      const f = (x: number) => x.toFixed(2);
      return `| \`${key.replace(/\|/g, '\\|')}\` | ${s.times.length} | ${f(total / s.times.length)} | ${f(percentile(s.times, 50))} | ${f(percentile(s.times, 99))} | ${Math.round(total)} |`;
    }),
    '',
    stats
      ? `mailroom_message afterwards: ${stats.n_tup_ins} inserted, ${stats.n_tup_upd} updated of which ${stats.n_tup_hot_upd} HOT, ` +
        `${stats.n_tup_del} deleted, ${stats.n_dead_tup} dead tuples, ${stats.size} on disk, last analyzed: ${stats.analyzed}; ` +
        `mailroom_lease rows: ${stats.leases} (one consumer name, ${args.concurrency} concurrent receives).`
      : '',
    '',
  ];
  for (const [key, s] of rows) {
    if (s.plan) lines.push(`EXPLAIN (ANALYZE, BUFFERS) of \`${key}\`:`, '', '```', s.plan, '```', '');
  }
  return lines.join('\n');
}
