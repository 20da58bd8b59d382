import { Logger, makeWorkerUtils, run as runWorker } from 'graphile-worker';
import type { BenchBody } from '../lib/body';
import { benchQuery, benchUrl, dropSchema } from '../lib/pg';
import { packageVersion } from '../lib/versions';
import type { BenchSystem, QueueUnderTest, RunInfo } from './system';

const TASK = 'bench';
/** graphile-worker logs every start and stop at info; the bench reports errors itself. */
const silent = new Logger(() => () => undefined);

/**
 * graphile-worker with the batching its performance docs describe: a local queue so jobs are
 * fetched several at a time, and completions batched within a tick (delay 0).
 */
export const graphileWorkerSystem: BenchSystem = {
  id: 'graphile-worker',
  label: 'graphile-worker',
  store: 'postgres',
  role: 'peer',
  describe: () => ({
    version: `graphile-worker ${packageVersion('graphile-worker')}`,
    settings:
      'maxPoolSize 10; WorkerUtils.addJob / addJobs; run({ concurrency, preset.worker: { localQueue.size: ' +
      'max(batch, concurrency) + 1, completeJobBatchDelay: 0 } }); LISTEN/NOTIFY wake-ups (built in), pollInterval 2000',
  }),
  probe: async () => null,
  open: (run) => openGraphile(run),
};

async function openGraphile(run: RunInfo): Promise<QueueUnderTest> {
  const schema = `bench_graphile_${run.tag}`;
  await dropSchema(schema);
  const connectionString = benchUrl();
  const utils = await makeWorkerUtils({ connectionString, schema, logger: silent });
  await utils.migrate();
  const { concurrency, batch } = run.settings;
  return {
    send: async (body) => {
      await utils.addJob(TASK, body);
    },
    sendBatch: async (bodies) => {
      await utils.addJobs(bodies.map((payload) => ({ identifier: TASK, payload })));
    },
    consume: async (options) => {
      const runner = await runWorker({
        connectionString,
        schema,
        concurrency,
        maxPoolSize: 10,
        noHandleSignals: true,
        pollInterval: 2_000,
        logger: silent,
        taskList: { [TASK]: async (payload) => options.onMessage(payload as BenchBody) },
        preset: { worker: { localQueue: { size: Math.max(batch, concurrency) + 1 }, completeJobBatchDelay: 0 } },
      });
      runner.events.on('job:error', ({ error }) => run.onError(error));
      runner.events.on('pool:listen:error', ({ error }) => run.onError(error));
      return { stop: () => runner.stop() };
    },
    pending: async () => {
      const [row] = await benchQuery<{ n: string }>(`SELECT count(*) AS n FROM ${schema}._private_jobs`);
      return Number(row.n);
    },
    close: async () => {
      await utils.release();
      await dropSchema(schema);
    },
  };
}
