import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, fromPromise, setup } from 'xstate';
import { Client } from 'pg';
import {
  MailroomClient,
  Workflow,
  WorkflowAction,
  WorkflowActivity,
  Workflows,
  type ActivityArgs,
} from '@mailroom/core';
import { LOCK_DUE_TIMERS_SQL } from '../../libs/mailroom/src/workflow/workflow.sql';
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

/** Sleeps the `ms` of its input from SLEEP on; waking runs `stretch`, which fails for the keys in `sore`. */
const sleeper = setup({
  types: { context: {} as { key: string; ms: number; woke: number }, input: {} as { key: string; ms: number } },
  delays: { NAP: ({ context }) => context.ms },
  actions: { stretch: () => undefined },
}).createMachine({
  id: 'sleeper',
  initial: 'idle',
  context: ({ input }) => ({ key: input.key, ms: input.ms, woke: 0 }),
  states: {
    idle: { on: { SLEEP: 'sleeping' } },
    sleeping: {
      after: { NAP: { target: 'awake', actions: ['stretch', assign({ woke: ({ context }) => context.woke + 1 })] } },
    },
    awake: {},
  },
});

const sore = new Set<string>();

/** Two regions, each with a timer of the same delay: both fall due together in one instance. */
const twins = setup({}).createMachine({
  id: 'twins',
  type: 'parallel',
  states: {
    left: { initial: 'waiting', states: { waiting: { after: { 200: 'done' } }, done: { type: 'final' } } },
    right: { initial: 'waiting', states: { waiting: { after: { 200: 'done' } }, done: { type: 'final' } } },
  },
});

@Workflow(twins)
@Injectable()
class TwinsWorkflow {}

@Workflow(sleeper)
@Injectable()
class SleeperWorkflow {
  @WorkflowAction('stretch')
  stretch({ context }: { context: { key: string } }) {
    if (sore.delete(context.key)) throw new Error('a cramp');
  }
}

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
  app = await startNestApp(db.url, [QuickWorkflow, SleeperWorkflow, TwinsWorkflow], { pollIntervalMs: 60_000 });
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
  it('fires a timer armed here at its deadline in this process: never early, applied once, its message gone, no consumer involved', async () => {
    const key = randomUUID();
    await workflows.start(QuickWorkflow, key, { key });
    const [{ due_at: due, message_id: message }] = await timerOf(key);
    await until(async () => (await workflows.get(QuickWorkflow, key)).status === 'done');
    const fired = (await history(key)).filter((h: { type: string }) => h.type.startsWith('xstate.after.'));
    expect(fired).toMatchObject([{ outcome: 'applied', message_id: message }]);
    expect(fired[0].created_at.getTime()).toBeGreaterThanOrEqual(due.getTime());
    expect(await messageExists(message)).toBe(false);
    expect(await inInbox(message)).toBe(false); // a consumer's delivery records its message there
  });

  it('fires a held timer only when the database says it is due: one its clock puts later waits for the database’s deadline', async () => {
    const key = randomUUID();
    await workflows.start(SleeperWorkflow, key, { key, ms: 1_000 });
    await workflows.send(SleeperWorkflow, key, { type: 'SLEEP' });
    // The database's deadline moves 1.5 s past the one this process holds (as if its clock ran ahead).
    const [[{ due_at: due, message_id: message }]] = await db.dataSource.query(
      `UPDATE mailroom_workflow_wait w SET due_at = w.due_at + interval '1.5 seconds'
         FROM mailroom_workflow_instance i WHERE i.id = w.instance_id AND i.key = $1 RETURNING w.due_at, w.message_id`,
      [key],
    );
    await db.dataSource.query(`UPDATE mailroom_message SET visible_at = $2 WHERE id = $1`, [message, due]);
    await until(async () => (await workflows.get(SleeperWorkflow, key)).state === 'awake');
    const fired = (await history(key)).filter((h: { type: string }) => h.type.startsWith('xstate.after.'));
    expect(fired).toMatchObject([{ outcome: 'applied' }]);
    expect(fired[0].created_at.getTime()).toBeGreaterThanOrEqual(due.getTime());
    expect(await inInbox(message)).toBe(false); // still fired here, at the database's deadline
  });

  it('hands a held timer whose transition fails to its queue: the consumers, woken for it, retry it and it applies once', async () => {
    const key = randomUUID();
    sore.add(key);
    await workflows.start(SleeperWorkflow, key, { key, ms: 200 });
    await workflows.send(SleeperWorkflow, key, { type: 'SLEEP' });
    const [{ message_id: message }] = await timerOf(key);
    // Consumers that poll every minute: only the hand-over's wake-up gets it applied within `until`'s 10 s.
    await until(async () => (await workflows.get(SleeperWorkflow, key)).state === 'awake');
    expect(sore.has(key)).toBe(false);
    const fired = (await history(key)).filter((h: { type: string }) => h.type.startsWith('xstate.after.'));
    expect(fired).toMatchObject([{ outcome: 'applied', message_id: message }]);
    expect((await workflows.get(SleeperWorkflow, key)).snapshot).toMatchObject({ context: { woke: 1 } });
    expect(await inInbox(message)).toBe(true); // the queue's consumer delivered it
  });

  it('timers falling due together share firing transactions: a failing one is retried alone and handed to its queue, each applies once', async () => {
    const keys = Array.from({ length: 8 }, () => randomUUID());
    for (const key of keys) await workflows.start(SleeperWorkflow, key, { key, ms: 300 });
    sore.add(keys[3]);
    // Armed by one transaction: one deadline, one wake-up.
    await db.dataSource.transaction(async (manager) => {
      for (const key of keys) await workflows.send(SleeperWorkflow, key, { type: 'SLEEP' }, { manager });
    });
    const messages = new Map<string, string>();
    for (const key of keys) messages.set(key, (await timerOf(key))[0].message_id);
    for (const key of keys) await until(async () => (await workflows.get(SleeperWorkflow, key)).state === 'awake');
    for (const key of keys) {
      const applied = (await history(key)).filter(
        (h: { type: string; outcome: string }) => h.type.startsWith('xstate.after.') && h.outcome === 'applied',
      );
      expect(applied).toHaveLength(1);
      expect((await workflows.get(SleeperWorkflow, key)).snapshot).toMatchObject({ context: { woke: 1 } });
    }
    // The failing one went to its queue (the consumers woken for it may take due neighbours too:
    // those are then applied by whichever locks the instance first, and the other sees them stale).
    expect(await inInbox(messages.get(keys[3])!)).toBe(true);
  });

  it('two timers of one instance falling due together both fire', async () => {
    const key = randomUUID();
    await workflows.start(TwinsWorkflow, key);
    await until(async () => (await workflows.get(TwinsWorkflow, key)).status === 'done');
    const fired = (await history(key)).filter((h: { type: string }) => h.type.startsWith('xstate.after.'));
    expect(fired.map((h: { outcome: string }) => h.outcome)).toEqual(['applied', 'applied']);
  });

  it('a workflow’s transitions announce nothing on the actor channel (no node caches an instance)', async () => {
    const listener = new Client({ connectionString: db.url });
    await listener.connect();
    const heard: { kind: string }[] = [];
    listener.on('notification', (n) => heard.push(JSON.parse(n.payload!)));
    try {
      await listener.query('LISTEN mailroom_actor');
      const key = randomUUID();
      await workflows.start(SleeperWorkflow, key, { key, ms: 100 });
      await workflows.send(SleeperWorkflow, key, { type: 'SLEEP' });
      await until(async () => (await workflows.get(SleeperWorkflow, key)).state === 'awake');
      // A queue's creation is announced: once it is heard, anything announced before it was too.
      await app.get(MailroomClient).createQueue(`heard-${key}`);
      await until(async () => heard.some((a) => a.kind === 'queue'));
      expect(heard.filter((a) => a.kind === 'workflow')).toEqual([]);
    } finally {
      await listener.end();
    }
  });

  it('a held timer consumes only its own wait: an earlier entry’s timer finds nothing to fire into a later, due one', async () => {
    const key = randomUUID();
    await workflows.start(SleeperWorkflow, key, { key, ms: 60_000 });
    await workflows.send(SleeperWorkflow, key, { type: 'SLEEP' });
    const [{ message_id: current }] = await timerOf(key);
    // The current wait is due; a timer of an earlier entry (another message id) fires.
    await db.dataSource.query(
      `UPDATE mailroom_workflow_wait SET due_at = now() - interval '1 second' WHERE message_id = $1`,
      [current],
    );
    const fire = (wait: string) =>
      db.dataSource
        .transaction(async (tx) => {
          const [row] = await tx.query(LOCK_DUE_TIMERS_SQL, [['sleeper'], [key], [wait]]);
          const [{ count: waits }] = await tx.query(
            `SELECT count(*)::int AS count FROM mailroom_workflow_wait WHERE message_id = $1`,
            [current],
          );
          throw Object.assign(new Error('rolled back'), { answer: { ...row, waits } });
        })
        .catch((error: { answer?: Record<string, unknown> }) => error.answer);
    // The current wait is left in place, and nothing says it was consumed.
    expect(await fire(randomUUID())).toMatchObject({ consumed_wait: null, due_in_ms: null, waits: 1 });
    // Its own timer consumes it, once due.
    expect(await fire(current)).toMatchObject({ consumed_wait: expect.any(String), waits: 0 });
    expect(await timerOf(key)).toHaveLength(1); // both rolled back
  });

  it('a held timer that another process’s consumers may also deliver is applied once', async () => {
    const other = await startNestApp(db.url, [QuickWorkflow, SleeperWorkflow], { pollIntervalMs: 50 });
    try {
      const keys = Array.from({ length: 20 }, () => randomUUID());
      for (const key of keys) await workflows.start(SleeperWorkflow, key, { key, ms: 300 });
      for (const key of keys) await workflows.send(SleeperWorkflow, key, { type: 'SLEEP' });
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

  it('hands a held timer whose instance another transaction has locked to its queue, without waiting for the lock', async () => {
    const key = randomUUID();
    await workflows.start(SleeperWorkflow, key, { key, ms: 500 });
    await workflows.send(SleeperWorkflow, key, { type: 'SLEEP' });
    const [{ message_id: message }] = await timerOf(key);
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM mailroom_workflow_instance WHERE key = $1 FOR UPDATE`, [key]);
      // The hand-over wakes the consumers (they poll every minute), whose delivery waits for the lock.
      const lockWaiters = () =>
        db.dataSource.query(
          `SELECT query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        ) as Promise<{ query: string }[]>;
      await until(async () => (await lockWaiters()).length > 0);
      expect((await lockWaiters()).filter((w) => w.query.includes('fired_wait'))).toEqual([]); // the held firing skipped it
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    await until(async () => (await workflows.get(SleeperWorkflow, key)).state === 'awake');
    const fired = (await history(key)).filter((h: { type: string }) => h.type.startsWith('xstate.after.'));
    expect(fired).toMatchObject([{ outcome: 'applied', message_id: message }]);
    expect(await inInbox(message)).toBe(true); // the queue's consumer delivered it
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

const timerOf = async (key: string) =>
  db.dataSource.query(
    `SELECT w.due_at, w.message_id FROM mailroom_workflow_wait w JOIN mailroom_workflow_instance i ON i.id = w.instance_id
      WHERE i.key = $1 AND w.kind = 'timer'`,
    [key],
  );
const messageExists = async (id: string) =>
  (await db.dataSource.query(`SELECT 1 FROM mailroom_message WHERE id = $1`, [id])).length > 0;
const inInbox = async (id: string) =>
  (await db.dataSource.query(`SELECT 1 FROM mailroom_inbox WHERE message_id = $1`, [id])).length > 0;
