import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { assign, fromPromise, setup } from 'xstate';
import { Workflow, WorkflowAction, WorkflowActivity, type ActivityArgs } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';

// The workflows and probes of the in-process fast paths (fast-path.spec, held-timer-races.spec).

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

export const sore = new Set<string>();

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
export class TwinsWorkflow {}

@Workflow(sleeper)
@Injectable()
export class SleeperWorkflow {
  @WorkflowAction('stretch')
  stretch({ context }: { context: { key: string } }) {
    if (sore.delete(context.key)) throw new Error('a cramp');
  }
}

export const calls: string[] = [];

@Workflow(quick)
@Injectable()
export class QuickWorkflow {
  @WorkflowActivity('ping')
  ping({ key }: ActivityArgs<{ key: string }>) {
    calls.push(key);
    return { ok: true };
  }
}

/**
 * A test database and an app running the three workflows, whose consumers poll every minute
 * (a long-poll returns after 20 s): only a wake-up finds a due timer within `until`'s 10 s.
 */
export async function startFastPathApp(): Promise<{ db: TestDatabase; app: INestApplicationContext }> {
  const db = await createTestDatabase();
  const app = await startNestApp(db.url, [QuickWorkflow, SleeperWorkflow, TwinsWorkflow], { pollIntervalMs: 60_000 });
  return { db, app };
}

/** What the database says of an instance's history, its timers and a message. */
export function probes(db: TestDatabase) {
  const query = (sql: string, params: unknown[]) => db.dataSource.query(sql, params);
  return {
    history: (key: string) =>
      query(
        `SELECT h.outcome, h.event ->> 'type' AS type, h.message_id, h.created_at FROM mailroom_workflow_history h
           JOIN mailroom_workflow_instance i ON i.id = h.instance_id WHERE i.key = $1 ORDER BY h.id`,
        [key],
      ),
    timerOf: (key: string) =>
      query(
        `SELECT w.due_at, w.message_id FROM mailroom_workflow_wait w JOIN mailroom_workflow_instance i ON i.id = w.instance_id
          WHERE i.key = $1 AND w.kind = 'timer'`,
        [key],
      ),
    messageExists: async (id: string) => (await query(`SELECT 1 FROM mailroom_message WHERE id = $1`, [id])).length > 0,
    /** A consumer's delivery records its message there; a timer fired in-process does not. */
    inInbox: async (id: string) => (await query(`SELECT 1 FROM mailroom_inbox WHERE message_id = $1`, [id])).length > 0,
  };
}
