import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { fixture, startProcess, type RunningProcess } from '../support/processes';
import { until } from '../support/wait';

let db: TestDatabase;
let client: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
  // Short leases: a killed worker's messages come back within about a second.
  await client.createQueue('workflow.crashy', { ordering: 'grouped', leaseMs: 1_000 });
  await client.createQueue('workflow.crashy.activities', { leaseMs: 1_000 });
  await client.createQueue('crashy-out');
  await client.createQueue('workflow.napper', { ordering: 'grouped', leaseMs: 1_000 });
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

async function worker(crash: string): Promise<RunningProcess> {
  const process = startProcess(fixture('workflow-worker'), { DATABASE_URL: db.url, CRASH: crash });
  await process.waitForLine(/^ready$/);
  return process;
}

const one = async (sql: string, params: unknown[]) => (await db.dataSource.query(sql, params))[0];
const emitted = async (key: string): Promise<string[]> =>
  (
    await db.dataSource.query(
      `SELECT m.body ->> 'step' AS step FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
        WHERE q.name = 'crashy-out' AND m.body ->> 'key' = $1 ORDER BY m.seq`,
      [key],
    )
  ).map((r: { step: string }) => r.step);
const outcomes = async (key: string): Promise<string[]> =>
  (
    await db.dataSource.query(
      `SELECT h.outcome, h.event ->> 'type' AS type FROM mailroom_workflow_history h
         JOIN mailroom_workflow_instance i ON i.id = h.instance_id WHERE i.key = $1 ORDER BY h.id`,
      [key],
    )
  ).map((r: { outcome: string; type: string }) => `${r.outcome} ${r.type}`);

async function run(key: string, crash: string, line: RegExp): Promise<void> {
  const doomed = await worker(crash);
  await client.send('workflow.crashy', { key, kind: 'start', input: { key } }, { groupKey: key });
  await client.send('workflow.crashy', { key, kind: 'event', event: { type: 'GO' } }, { groupKey: key });
  await doomed.waitForLine(line);
  await doomed.kill('SIGKILL');
  const survivor = await worker('');
  try {
    await until(
      async () => (await one(`SELECT status FROM mailroom_workflow_instance WHERE key = $1`, [key]))?.status === 'done',
      20_000,
    );
  } finally {
    await survivor.kill('SIGTERM');
  }
}

describe('a workflow worker killed at a transition boundary', () => {
  it('before the commit: the transition happens once, after redelivery, with one set of messages', async () => {
    const key = randomUUID();
    await run(key, 'in-action', new RegExp(`^in-action ${key}$`));
    expect(await outcomes(key)).toEqual(['started xstate.init', 'applied GO', 'applied xstate.done.actor.work']);
    expect(await emitted(key)).toEqual(['announce', 'finish']);
  });

  it('after the activity’s answer committed, before its job was acked: the job reruns, the answer applies once', async () => {
    const key = randomUUID();
    await run(key, 'after-answer', new RegExp(`^answered ${key}$`));
    const history = await outcomes(key);
    expect(history.filter((h) => h === 'applied xstate.done.actor.work')).toHaveLength(1);
    expect(history.slice(0, 3)).toEqual(['started xstate.init', 'applied GO', 'applied xstate.done.actor.work']);
    expect(await emitted(key)).toEqual(['announce', 'finish']);
  });

  it('while the activity ran in-process after the invoking commit: the queue runs its job, the answer applies once', async () => {
    const key = randomUUID();
    await run(key, 'in-activity', new RegExp(`^in-activity ${key}$`));
    expect(await outcomes(key)).toEqual(['started xstate.init', 'applied GO', 'applied xstate.done.actor.work']);
    expect(await emitted(key)).toEqual(['announce', 'finish']);
  });

  describe('holding a timer it armed (fired in that process at the deadline)', () => {
    const nap = async (key: string, crash: string) => {
      const doomed = await worker(crash);
      await client.send('workflow.napper', { key, kind: 'start', input: { key, napMs: 1_500 } }, { groupKey: key });
      await client.send('workflow.napper', { key, kind: 'event', event: { type: 'NAP' } }, { groupKey: key });
      return doomed;
    };
    const afterDeath = async (key: string, due: Date) => {
      const survivor = await worker('');
      try {
        await until(
          async () =>
            (await one(`SELECT state FROM mailroom_workflow_instance WHERE key = $1`, [key]))?.state === 'rested',
          20_000,
        );
      } finally {
        await survivor.kill('SIGTERM');
      }
      const fired = await db.dataSource.query(
        `SELECT h.created_at FROM mailroom_workflow_history h JOIN mailroom_workflow_instance i ON i.id = h.instance_id
          WHERE i.key = $1 AND h.outcome = 'applied' AND h.event ->> 'type' LIKE 'xstate.after.%'`,
        [key],
      );
      expect(fired).toHaveLength(1);
      expect(fired[0].created_at.getTime()).toBeGreaterThanOrEqual(due.getTime());
      expect(await emitted(key)).toEqual(['wake']);
    };
    const dueAt = (key: string) =>
      one(
        `SELECT w.due_at FROM mailroom_workflow_wait w JOIN mailroom_workflow_instance i ON i.id = w.instance_id
          WHERE i.key = $1 AND w.kind = 'timer'`,
        [key],
      );

    it('killed before the deadline: another worker’s consumers fire it, once, never early', async () => {
      const key = randomUUID();
      const doomed = await nap(key, '');
      await until(async () => (await dueAt(key)) !== undefined);
      const { due_at: due } = await dueAt(key);
      await doomed.kill('SIGKILL');
      await afterDeath(key, due);
    });

    it('killed inside the firing transaction, before its commit: another worker’s consumers fire it, once', async () => {
      const key = randomUUID();
      const doomed = await nap(key, 'in-timer');
      await until(async () => (await dueAt(key)) !== undefined);
      const { due_at: due } = await dueAt(key);
      await doomed.waitForLine(new RegExp(`^in-timer ${key}$`));
      await doomed.kill('SIGKILL');
      await afterDeath(key, due);
    });
  });
});
