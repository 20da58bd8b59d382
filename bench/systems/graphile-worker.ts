import { Logger, makeWorkerUtils, run as runWorker } from 'graphile-worker';
import type { BenchBody } from '../lib/body';
import { benchQuery, benchUrl, dropSchema } from '../lib/pg';
import { packageVersion } from '../lib/versions';
import type { BenchSystem, QueueUnderTest, RunInfo } from './system';

const TASK = 'bench';
/** graphile-worker logs every start and stop at info; the bench reports errors itself. */
const silent = new Logger(() => () => undefined);

/**
 * graphile-worker with the batching its performance docs describe
 * (https://worker.graphile.org/docs/performance#batching and the option docs in its typings):
 * a local queue so jobs are fetched and locked many at a time ("concurrentJobs + 1" is their
 * starting point, "a much higher number" for very fast tasks at high throughput: these are
 * no-op tasks, so LOCAL_QUEUE), and completions batched (`completeJobBatchDelay` 0: batched
 * within a tick; their suggested 250 ms would only hold finished jobs locked longer here).
 * No refetchDelay: it trades latency for database load with many worker instances (one here).
 */
const LOCAL_QUEUE = 100;
export const graphileWorkerSystem: BenchSystem = {
  id: 'graphile-worker',
  label: 'graphile-worker',
  store: 'postgres',
  role: 'peer',
  describe: () => ({
    version: `graphile-worker ${packageVersion('graphile-worker')}`,
    settings:
      `maxPoolSize 10; WorkerUtils.addJob / addJobs; run({ concurrency, preset.worker: { localQueue: { size: ` +
      `max(${LOCAL_QUEUE}, concurrency + 1) }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } }); LISTEN/NOTIFY ` +
      'wake-ups (built in), pollInterval 2000, prepared statements (default)',
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
  const { concurrency } = run.settings;
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
        preset: {
          worker: {
            localQueue: { size: Math.max(LOCAL_QUEUE, concurrency + 1) },
            completeJobBatchDelay: 0,
            failJobBatchDelay: 0,
          },
        },
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
