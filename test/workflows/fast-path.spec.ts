import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { MailroomClient, Workflows } from '@mailroom/core';
import type { TestDatabase } from '../support/database';
import { until } from '../support/wait';
import {
  QuickWorkflow,
  SleeperWorkflow,
  TwinsWorkflow,
  calls,
  sore,
  probes,
  startFastPathApp,
} from './fast-path.fixtures';

let db: TestDatabase;
let app: INestApplicationContext;
let workflows: Workflows;
let history: ReturnType<typeof probes>['history'];
let timerOf: ReturnType<typeof probes>['timerOf'];
let messageExists: ReturnType<typeof probes>['messageExists'];
let inInbox: ReturnType<typeof probes>['inInbox'];

beforeAll(async () => {
  ({ db, app } = await startFastPathApp());
  workflows = app.get(Workflows);
  ({ history, timerOf, messageExists, inInbox } = probes(db));
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

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
