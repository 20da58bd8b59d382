import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { Workflows } from '@mailroom/core';
import { LOCK_DUE_TIMERS_SQL } from '../../libs/mailroom/src/workflow/workflow.sql';
import type { TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';
import { QuickWorkflow, SleeperWorkflow, probes, startFastPathApp } from './fast-path.fixtures';

let db: TestDatabase;
let app: INestApplicationContext;
let workflows: Workflows;
let history: ReturnType<typeof probes>['history'];
let timerOf: ReturnType<typeof probes>['timerOf'];
let inInbox: ReturnType<typeof probes>['inInbox'];

beforeAll(async () => {
  ({ db, app } = await startFastPathApp());
  workflows = app.get(Workflows);
  ({ history, timerOf, inInbox } = probes(db));
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

describe('held timers racing consumers and other transactions (each applied once, no lock waited for)', () => {
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
});
