import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DataSource, type EntitySubscriberInterface } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { Workflow, Workflows } from '@mailroom/core';
import { AfterCommit } from '../../libs/mailroom/src/workflow/workflow.after-commit';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

/** Arms an hour's timer on start: held by this process, counted from the start's transaction. */
const patient = setup({}).createMachine({
  id: 'patient',
  initial: 'waiting',
  states: { waiting: { after: { 3_600_000: 'done' } }, done: { type: 'final' } },
});

@Workflow(patient)
@Injectable()
class PatientWorkflow {}

/** Naps 300 ms, then ends. */
const napper = setup({}).createMachine({
  id: 'napper',
  initial: 'napping',
  states: { napping: { after: { 300: 'done' } }, done: { type: 'final' } },
});

@Workflow(napper)
@Injectable()
class NapperWorkflow {}

/** How long the event loop is kept busy while a BEGIN's answer waits to be read (ms). */
const LAG_MS = 50;

let db: TestDatabase;
let app: INestApplicationContext;
let workflows: Workflows;
let dataSource: DataSource;

beforeAll(async () => {
  db = await createTestDatabase();
  // Consumers that poll every minute: a timer applied within `until` was fired by this process.
  app = await startNestApp(db.url, [PatientWorkflow, NapperWorkflow], { pollIntervalMs: 60_000 });
  workflows = app.get(Workflows);
  dataSource = app.get(DataSource);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

/**
 * Runs `work` in a transaction whose BEGIN's answer this process reads LAG_MS late (the event
 * loop busy, as in a collection), and returns when the BEGIN was sent, when its answer was
 * read, and when AfterCommit says the transaction began.
 */
async function lateBegin(work: (manager: DataSource['manager']) => Promise<void>) {
  let lagging = true;
  let sent = 0;
  // First in line, so AfterCommit's own afterTransactionStart reads its clock after the lag.
  // The first BEGIN sent meanwhile counts (another transaction's, as the reaper's, is earlier).
  const lag: EntitySubscriberInterface = {
    beforeTransactionStart: () => void (lagging && sent === 0 && (sent = performance.now())),
    afterTransactionStart: () => {
      const end = performance.now() + LAG_MS;
      while (lagging && performance.now() < end); // busy, as a collection would keep it
    },
  };
  AfterCommit.of(dataSource); // registered before the lag, as it is in any app that ran a workflow
  dataSource.subscribers.unshift(lag);
  let read = 0;
  let begun: number | undefined;
  try {
    await dataSource.transaction(async (manager) => {
      lagging = false;
      read = performance.now();
      await work(manager);
      AfterCommit.of(dataSource).add(manager, (at) => (begun = at));
    });
  } finally {
    dataSource.subscribers.splice(dataSource.subscribers.indexOf(lag), 1);
  }
  await until(async () => begun !== undefined);
  return { sent, read, begun: begun! };
}

describe('held timers count from the database’s start of the transaction that armed them', () => {
  it('a start whose BEGIN answer is read late still counts from the database’s now(): not early, not late by the lag', async () => {
    const key = randomUUID();
    const { sent, read, begun } = await lateBegin((manager) =>
      workflows.start(PatientWorkflow, key, {}, { manager }).then(() => undefined),
    );
    expect(read - sent).toBeGreaterThanOrEqual(LAG_MS);
    // Never before the BEGIN left this process: the database's now() cannot precede it.
    expect(begun).toBeGreaterThanOrEqual(sent);
    // The transition's statement told the database's now(): the lag is not counted in.
    expect(begun).toBeLessThan(read - LAG_MS / 2);
    expect((await workflows.get(PatientWorkflow, key)).state).toBe('waiting');
  });

  it('a transaction that ran no workflow statement counts from its BEGIN’s answer as read: late, never early', async () => {
    const { sent, read, begun } = await lateBegin(async (manager) => {
      await manager.query('SELECT 1');
    });
    expect(begun).toBeGreaterThanOrEqual(sent + LAG_MS);
    expect(begun).toBeLessThanOrEqual(read);
  });

  it('timers falling due a fraction of a millisecond apart (each its own wake-up) all fire here, once each', async () => {
    const keys = Array.from({ length: 8 }, () => randomUUID());
    // Started together on separate connections: their deadlines land within a millisecond or two.
    await Promise.all(keys.map((key) => workflows.start(NapperWorkflow, key, {})));
    const fired = async (key: string) =>
      db.dataSource.query(
        `SELECT h.message_id FROM mailroom_workflow_history h JOIN mailroom_workflow_instance i ON i.id = h.instance_id
          WHERE i.key = $1 AND h.outcome = 'applied' AND h.event ->> 'type' LIKE 'xstate.after.%'`,
        [key],
      );
    for (const key of keys) await until(async () => (await workflows.get(NapperWorkflow, key)).status === 'done');
    for (const key of keys) {
      const [applied, ...more] = await fired(key);
      expect(more).toEqual([]);
      // A consumer's delivery records its message in the inbox: this process fired it instead.
      const inbox = await db.dataSource.query(`SELECT 1 FROM mailroom_inbox WHERE message_id = $1`, [
        applied.message_id,
      ]);
      expect(inbox).toEqual([]);
    }
  });
});
