import { DBOS } from '@dbos-inc/dbos-sdk';
import { Client } from 'pg';
import type { W6System } from './system';

export const DBOS_QUEUE = 'w6_orders';
/** The queue's dispatch-loop polling floor (DBOS default 1000 ms; lowered for latency). */
export const DBOS_POLLING_MS = 50;
const finished = new Map<string, number>();
const lateness = new Map<string, number>();

async function noStep(): Promise<{ ok: true }> {
  return { ok: true };
}

/** Three checkpointed steps, the same shape as Mailroom's three activities. */
const order = DBOS.registerWorkflow(
  async (orderId: string) => {
    await DBOS.runStep(noStep, { name: 'reserve' });
    await DBOS.runStep(noStep, { name: 'charge' });
    await DBOS.runStep(noStep, { name: 'ship' });
    finished.set(orderId, performance.now());
  },
  { name: 'w6order' },
);

/** A durable sleep: its wake-up time is checkpointed, so a restart resumes it. */
const timer = DBOS.registerWorkflow(
  async (waitMs: number, key: string) => {
    // performance.now(), not Date.now(): whole milliseconds would read most firings as 0 ms late.
    const deadline = performance.now() + waitMs;
    await DBOS.sleep(waitMs);
    lateness.set(key, performance.now() - deadline);
  },
  { name: 'w6timer' },
);

/** DBOS Transact on its own system database (created by DBOS on launch). */
export async function openDbos(url: string): Promise<W6System> {
  DBOS.setConfig({ name: 'w6', systemDatabaseUrl: url, logLevel: 'error' });
  await DBOS.launch();
  await DBOS.registerQueue(DBOS_QUEUE, {
    workerConcurrency: 10,
    minPollingIntervalMs: DBOS_POLLING_MS,
    onConflict: 'always_update',
  });
  const pg = new Client({ connectionString: url });
  await pg.connect();
  const count = async (sql: string) => Number((await pg.query(sql)).rows[0].count);
  return {
    startOrder: async (orderId) => {
      await DBOS.startWorkflow(order, { queueName: DBOS_QUEUE, workflowID: orderId })(orderId);
    },
    finishedAt: (orderId) => finished.get(orderId),
    startTimer: async (key, waitMs) => {
      await DBOS.startWorkflow(timer, { workflowID: key })(waitMs, key);
    },
    startTimers: async (keys, waitMs) => {
      for (const key of keys) await DBOS.startWorkflow(timer, { workflowID: key })(waitMs, key);
    },
    timersFired: async () => lateness.size,
    timerLateness: async () => new Map(lateness),
    // Each status change and each step output is one durable write.
    transitions: async () =>
      (await count(`SELECT count(*) FROM dbos.workflow_status`)) * 2 +
      (await count(`SELECT count(*) FROM dbos.operation_outputs`)),
    waiting: () => count(`SELECT count(*) FROM dbos.workflow_status WHERE status IN ('PENDING', 'ENQUEUED')`),
    close: async () => {
      await pg.end();
      await DBOS.shutdown();
    },
  };
}
