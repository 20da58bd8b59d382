import { PgBoss } from 'pg-boss';
import type { BenchBody } from '../lib/body';
import { benchQuery, benchUrl, dropSchema } from '../lib/pg';
import { packageVersion } from '../lib/versions';
import type { BenchSystem, QueueUnderTest, RunInfo } from './system';

const QUEUE = 'bench';

/**
 * pg-boss with the settings its docs give for throughput and latency: LISTEN/NOTIFY wake-ups
 * on the queue, batch fetches, and fetching back to back while batches come back full.
 */
export const pgBossSystem: BenchSystem = {
  id: 'pg-boss',
  label: 'pg-boss',
  store: 'postgres',
  role: 'peer',
  describe: () => ({
    version: `pg-boss ${packageVersion('pg-boss')}`,
    settings:
      'pool max 10; useListenNotify + queue notify; send / insert(jobs); work({ localConcurrency: concurrency, ' +
      'batchSize: batch, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }), jobs completed after the handler; ' +
      'cron scheduling off; completed jobs stay in the table (its default retention)',
  }),
  probe: async () => null,
  open: (run) => openPgBoss(run),
};

async function openPgBoss(run: RunInfo): Promise<QueueUnderTest> {
  const schema = `bench_pgboss_${run.tag}`;
  await dropSchema(schema);
  const boss = new PgBoss({
    connectionString: benchUrl(),
    schema,
    max: 10,
    application_name: 'bench-pg-boss',
    useListenNotify: true,
    schedule: false,
  });
  boss.on('error', run.onError);
  await boss.start();
  await boss.createQueue(QUEUE, { notify: true });
  return {
    send: async (body) => {
      await boss.send(QUEUE, body);
    },
    sendBatch: async (bodies) => {
      await boss.insert(
        QUEUE,
        bodies.map((data) => ({ data })),
      );
    },
    consume: async (options) => {
      await boss.work<BenchBody>(
        QUEUE,
        {
          localConcurrency: run.settings.concurrency,
          batchSize: run.settings.batch,
          burstWhenBatchFull: true,
          pollingIntervalSeconds: 0.5,
        },
        async (jobs) => {
          for (const job of jobs) options.onMessage(job.data);
        },
      );
      return { stop: () => boss.offWork(QUEUE, { wait: true }) };
    },
    pending: async () => {
      const [row] = await benchQuery<{ n: string }>(
        `SELECT count(*) AS n FROM ${schema}.job WHERE name = $1 AND state IN ('created', 'retry', 'active')`,
        [QUEUE],
      );
      return Number(row.n);
    },
    close: async () => {
      await boss.stop({ graceful: true, close: true, timeout: 10_000 });
      await dropSchema(schema);
    },
  };
}
