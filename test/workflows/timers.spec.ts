import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { MailroomClient, Workflow, Workflows } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

const reminder = setup({
  types: { context: {} as { waitMs: number; fired: number }, input: {} as { waitMs: number } },
  delays: { WAIT: ({ context }) => context.waitMs },
}).createMachine({
  id: 'reminder',
  initial: 'idle',
  context: ({ input }) => ({ waitMs: input.waitMs, fired: 0 }),
  states: {
    idle: { on: { ARM: 'waiting' } },
    waiting: {
      after: { WAIT: { target: 'expired', actions: assign({ fired: ({ context }) => context.fired + 1 }) } },
      on: { LEAVE: 'idle', REENTER: { target: 'waiting', reenter: true } },
    },
    expired: { on: { ARM: 'waiting' } },
  },
});

@Workflow(reminder)
@Injectable()
class ReminderWorkflow {}

const TIMER = 'xstate.after.WAIT.reminder.waiting';
let db: TestDatabase;
let app: INestApplicationContext;
let workflows: Workflows;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startNestApp(db.url, [ReminderWorkflow]);
  workflows = app.get(Workflows);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const waits = (key: string) =>
  db.dataSource.query(
    `SELECT w.wait_id, w.message_id, w.due_at FROM mailroom_workflow_wait w JOIN mailroom_workflow_instance i ON i.id = w.instance_id WHERE i.key = $1`,
    [key],
  );
const queued = async (id: string) =>
  Number((await db.dataSource.query(`SELECT count(*) FROM mailroom_message WHERE id = $1`, [id]))[0].count);
/** When the timer's transition committed, against the deadline it was armed with (both the database's clock). */
const firedAt = async (key: string) =>
  (
    await db.dataSource.query(
      `SELECT h.created_at FROM mailroom_workflow_history h JOIN mailroom_workflow_instance i ON i.id = h.instance_id
        WHERE i.key = $1 AND h.outcome = 'applied' AND h.event ->> 'type' = $2 ORDER BY h.id DESC LIMIT 1`,
      [key, TIMER],
    )
  )[0]?.created_at as Date | undefined;

describe('durable timers', () => {
  it('fires an `after` delay as a message committed with the transition, never before its deadline', async () => {
    const key = randomUUID();
    await workflows.start(ReminderWorkflow, key, { waitMs: 300 });
    await workflows.send(ReminderWorkflow, key, { type: 'ARM' });
    const [armed] = await waits(key);
    expect((await workflows.get(ReminderWorkflow, key)).waits).toEqual([
      { id: TIMER, kind: 'timer', dueAt: armed.due_at },
    ]);
    await until(async () => (await workflows.get(ReminderWorkflow, key)).state === 'expired');
    expect((await firedAt(key))!.getTime()).toBeGreaterThanOrEqual(armed.due_at.getTime());
    expect(await waits(key)).toEqual([]);
  });

  it('cancels the timer when its state is left: the wait and its message are gone', async () => {
    const key = randomUUID();
    await workflows.start(ReminderWorkflow, key, { waitMs: 60_000 });
    await workflows.send(ReminderWorkflow, key, { type: 'ARM' });
    const [armed] = await waits(key);
    expect(await queued(armed.message_id)).toBe(1);
    await workflows.send(ReminderWorkflow, key, { type: 'LEAVE' });
    expect(await waits(key)).toEqual([]);
    expect(await queued(armed.message_id)).toBe(0);
  });

  it('re-entering arms a new timer; the old one, if it still arrives, is ignored as stale', async () => {
    const key = randomUUID();
    await workflows.start(ReminderWorkflow, key, { waitMs: 60_000 });
    await workflows.send(ReminderWorkflow, key, { type: 'ARM' });
    const [first] = await waits(key);
    await workflows.send(ReminderWorkflow, key, { type: 'REENTER' });
    const [second] = await waits(key);
    expect(second.message_id).not.toBe(first.message_id);
    // The old timer's message arriving anyway (it was in flight when the state was left).
    await app
      .get(MailroomClient)
      .send('workflow.reminder', { key, kind: 'timer', event: { type: TIMER }, wait: first.message_id });
    await until(async () => (await workflows.get(ReminderWorkflow, key)).history[0].outcome === 'stale');
    const instance = await workflows.get(ReminderWorkflow, key);
    expect(instance.state).toBe('waiting');
    expect((instance.snapshot as { context: { fired: number } }).context.fired).toBe(0);
    expect(await waits(key)).toHaveLength(1);
  });

  it('fires a deadline that passed while no worker ran, once one starts; and one armed before a restart after it', async () => {
    const passed = randomUUID();
    const pending = randomUUID();
    await workflows.start(ReminderWorkflow, passed, { waitMs: 200 });
    await workflows.start(ReminderWorkflow, pending, { waitMs: 1_500 });
    await workflows.send(ReminderWorkflow, passed, { type: 'ARM' });
    await app.close();
    await until(
      async () =>
        (await db.dataSource.query(`SELECT now() > $1::timestamptz AS due`, [(await waits(passed))[0].due_at]))[0].due,
    );
    app = await startNestApp(db.url, [ReminderWorkflow]);
    workflows = app.get(Workflows);
    await workflows.send(ReminderWorkflow, pending, { type: 'ARM' });
    const [deadline] = await waits(pending);
    await app.close(); // restarted mid-delay
    app = await startNestApp(db.url, [ReminderWorkflow]);
    workflows = app.get(Workflows);
    await until(async () => (await workflows.get(ReminderWorkflow, passed)).state === 'expired');
    await until(async () => (await workflows.get(ReminderWorkflow, pending)).state === 'expired');
    expect((await firedAt(pending))!.getTime()).toBeGreaterThanOrEqual(deadline.due_at.getTime());
  });
});
