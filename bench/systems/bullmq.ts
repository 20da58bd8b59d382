import { Queue, Worker, createPostgresBackend } from 'bullmq';
import type { BenchBody } from '../lib/body';
import { benchUrl, dropSchema } from '../lib/pg';
import { packageVersion } from '../lib/versions';
import type { BenchSystem, QueueUnderTest, RunInfo } from './system';

const QUEUE = 'bench';

/**
 * BullMQ through its PostgreSQL backend (BullMQ 6 ships one), so it stores in the same
 * Postgres as the others. Completed jobs are removed, as a queue (not a job log) would.
 */
export const bullmqSystem: BenchSystem = {
  id: 'bullmq',
  label: 'BullMQ (Postgres)',
  store: 'postgres',
  role: 'peer',
  describe: () => ({
    version: `bullmq ${packageVersion('bullmq')} (createPostgresBackend)`,
    settings:
      'connection { connectionString, schema, migrate: true, max: 10 }; Queue.add / addBulk with removeOnComplete; ' +
      'Worker({ concurrency }) (fetches the next job with each completion; LISTEN/NOTIFY wake-ups)',
  }),
  probe: async () => null,
  open: (run) => openBullmq(run),
};

async function openBullmq(run: RunInfo): Promise<QueueUnderTest> {
  const schema = `bench_bullmq_${run.tag}`;
  await dropSchema(schema);
  const connection = () => ({ connectionString: benchUrl(), schema, migrate: true, max: 10 });
  const queue = new Queue(
    QUEUE,
    { connection: connection(), defaultJobOptions: { removeOnComplete: true } },
    createPostgresBackend,
  );
  queue.on('error', run.onError);
  await queue.waitUntilReady();
  return {
    send: async (body) => {
      await queue.add('m', body);
    },
    sendBatch: async (bodies) => {
      await queue.addBulk(bodies.map((data) => ({ name: 'm', data })));
    },
    consume: async (options) => {
      const worker = new Worker(
        QUEUE,
        async (job) => options.onMessage(job.data as BenchBody),
        { connection: connection(), concurrency: run.settings.concurrency },
        createPostgresBackend,
      );
      worker.on('error', run.onError);
      worker.on('failed', (_job, error) => run.onError(error));
      await worker.waitUntilReady();
      return { stop: () => worker.close() };
    },
    pending: async () => {
      const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    close: async () => {
      await queue.close();
      await dropSchema(schema);
    },
  };
}
