import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, fromPromise, setup } from 'xstate';
import { Workflow, WorkflowActivity, Workflows, type ActivityArgs } from '@mailroom/core';
import { TIMER_GRACE_MS } from '../../libs/mailroom/src/workflow/workflow.timers';
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

/** Sleeps the `ms` of its input, from SLEEP on. */
const sleeper = setup({
  types: { context: {} as { ms: number; woke: number }, input: {} as { ms: number } },
  delays: { NAP: ({ context }) => context.ms },
}).createMachine({
  id: 'sleeper',
  initial: 'idle',
  context: ({ input }) => ({ ms: input.ms, woke: 0 }),
  states: {
    idle: { on: { SLEEP: 'sleeping' } },
    sleeping: { after: { NAP: { target: 'awake', actions: assign({ woke: ({ context }) => context.woke + 1 }) } } },
    awake: {},
  },
});

@Workflow(sleeper)
@Injectable()
class SleeperWorkflow {}

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
  app = await startNestApp(db.url, [QuickWorkflow, SleeperWorkflow], { pollIntervalMs: 60_000 });
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

  it('holds a timer armed here: its message is deliverable a grace period after the deadline, one beyond the horizon at it', async () => {
    const [near, far] = [randomUUID(), randomUUID()];
    await workflows.start(SleeperWorkflow, near, { ms: 60_000 });
    await workflows.start(SleeperWorkflow, far, { ms: 600_000 });
    for (const key of [near, far]) await workflows.send(SleeperWorkflow, key, { type: 'SLEEP' });
    const [held] = await timerOf(near);
    const [queued] = await timerOf(far);
    expect(held.visible_at.getTime() - held.due_at.getTime()).toBe(TIMER_GRACE_MS);
    expect(queued.visible_at.getTime()).toBe(queued.due_at.getTime());
  });

  it('fires a held timer only when the database says it is due: one its clock puts later waits for the database’s deadline', async () => {
    const key = randomUUID();
    await workflows.start(SleeperWorkflow, key, { ms: 2_000 });
    await workflows.send(SleeperWorkflow, key, { type: 'SLEEP' });
    // The database's deadline moves 2 s past the one this process holds (as if its clock were behind).
    const [[{ due_at: due }]] = await db.dataSource.query(
      `UPDATE mailroom_workflow_wait w SET due_at = w.due_at + interval '2 seconds'
         FROM mailroom_workflow_instance i WHERE i.id = w.instance_id AND i.key = $1 RETURNING w.due_at`,
      [key],
    );
    await db.dataSource.query(
      `UPDATE mailroom_message m SET visible_at = m.visible_at + interval '2 seconds'
         FROM mailroom_workflow_wait w WHERE w.message_id = m.id AND w.due_at = $1`,
      [due],
    );
    // Refused here at the old deadline, the timer is released, deliverable from the database's,
    // and its consumers woken (they poll only every minute).
    await until(async () => (await workflows.get(SleeperWorkflow, key)).state === 'awake');
    const fired = (await history(key)).filter((h: { type: string }) => h.type.startsWith('xstate.after.'));
    expect(fired).toHaveLength(1);
    expect(fired[0].created_at.getTime()).toBeGreaterThanOrEqual(due.getTime());
  });

  it('a held timer that a consumer elsewhere may also deliver is applied once', async () => {
    const other = await startNestApp(db.url, [QuickWorkflow, SleeperWorkflow]);
    try {
      const keys = Array.from({ length: 20 }, () => randomUUID());
      for (const key of keys) await workflows.start(SleeperWorkflow, key, { ms: 500 });
      for (const key of keys) await workflows.send(SleeperWorkflow, key, { type: 'SLEEP' });
      // Deliverable at the deadline, as if released: the other process's consumers race this one's firing.
      await db.dataSource.query(
        `UPDATE mailroom_message m SET visible_at = w.due_at FROM mailroom_workflow_wait w
           JOIN mailroom_workflow_instance i ON i.id = w.instance_id WHERE w.message_id = m.id AND i.key = ANY($1)`,
        [keys],
      );
      for (const key of keys) {
        await until(async () => (await workflows.get(SleeperWorkflow, key)).state === 'awake');
        const applied = (await history(key)).filter(
          (h: { type: string; outcome: string }) => h.type.startsWith('xstate.after.') && h.outcome === 'applied',
        );
        expect(applied).toHaveLength(1);
        expect((await workflows.get(SleeperWorkflow, key)).snapshot).toMatchObject({ context: { woke: 1 } });
      }
    } finally {
      await other.close();
    }
  });
});

const timerOf = (key: string) =>
  db.dataSource.query(
    `SELECT w.due_at, m.visible_at FROM mailroom_workflow_wait w JOIN mailroom_workflow_instance i ON i.id = w.instance_id
       JOIN mailroom_message m ON m.id = w.message_id WHERE i.key = $1 AND w.kind = 'timer'`,
    [key],
  );
