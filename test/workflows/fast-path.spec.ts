import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPromise, setup } from 'xstate';
import { Workflow, WorkflowActivity, Workflows, type ActivityArgs } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

/** Waits 300 ms, then runs one activity. */
const quick = setup({
  types: { context: {} as { key: string }, input: {} as { key: string } },
  actors: { ping: fromPromise<{ ok: boolean }, { key: string }>(async () => ({ ok: true })) },
}).createMachine({
  id: 'quick',
  initial: 'waiting',
  context: ({ input }) => ({ key: input.key }),
  states: {
    waiting: { after: { 300: 'pinging' } },
    pinging: { invoke: { src: 'ping', input: ({ context }) => context, onDone: 'done' } },
    done: { type: 'final' },
  },
});

const calls: string[] = [];

@Workflow(quick)
@Injectable()
class QuickWorkflow {
  @WorkflowActivity('ping')
  ping({ key }: ActivityArgs<{ key: string }>) {
    calls.push(key);
    return { ok: true };
  }
}

let db: TestDatabase;
let app: INestApplicationContext;
let workflows: Workflows;

beforeAll(async () => {
  db = await createTestDatabase();
  // Consumers that poll every minute (a long-poll returns after 20 s): only a wake-up finds a due timer within `until`'s 10 s.
  app = await startNestApp(db.url, [QuickWorkflow], { pollIntervalMs: 60_000 });
  workflows = app.get(Workflows);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const history = (key: string) =>
  db.dataSource.query(
    `SELECT h.outcome, h.event ->> 'type' AS type, h.message_id, h.created_at FROM mailroom_workflow_history h
       JOIN mailroom_workflow_instance i ON i.id = h.instance_id WHERE i.key = $1 ORDER BY h.id`,
    [key],
  );

describe('the in-process fast paths (each a hint: the queues stay the durable path)', () => {
  it('wakes the workflow’s consumers when a timer armed here falls due, not at their next poll', async () => {
    const key = randomUUID();
    await workflows.start(QuickWorkflow, key, { key });
    const [{ due_at: due }] = await db.dataSource.query(
      `SELECT w.due_at FROM mailroom_workflow_wait w JOIN mailroom_workflow_instance i ON i.id = w.instance_id
        WHERE i.key = $1 AND w.kind = 'timer'`,
      [key],
    );
    await until(async () => (await workflows.get(QuickWorkflow, key)).status === 'done');
    const fired = (await history(key)).find((h: { type: string }) => h.type.startsWith('xstate.after.'));
    expect(fired.created_at.getTime()).toBeGreaterThanOrEqual(due.getTime());
  });

  it('runs an invoked activity in the invoking process after its commit: one call, answered without a message, its job gone', async () => {
    const key = randomUUID();
    await workflows.start(QuickWorkflow, key, { key });
    await until(async () => (await workflows.get(QuickWorkflow, key)).status === 'done');
    expect(calls.filter((k) => k === key)).toHaveLength(1);
    const answer = (await history(key)).find((h: { type: string }) => h.type.startsWith('xstate.done.actor.'));
    expect(answer).toMatchObject({ outcome: 'applied', message_id: null });
    const [{ count }] = await db.dataSource.query(
      `SELECT count(*)::int AS count FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
        WHERE q.name LIKE 'workflow.quick%'`,
    );
    expect(count).toBe(0);
  });
});
