import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, fromPromise, setup } from 'xstate';
import { MailroomClient, Workflow, WorkflowActivity, Workflows, type ActivityArgs } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

type Input = { amount: number };

/** The machine names the activity; Mailroom runs it as a queue handler, never in-process. */
const payer = setup({
  types: { context: {} as Input & { charged: unknown; error: string | null }, input: {} as Input },
  actors: { charge: fromPromise<{ charged: number }, Input>(async () => ({ charged: 0 })) },
}).createMachine({
  id: 'payer',
  initial: 'charging',
  context: ({ input }) => ({ amount: input.amount, charged: null, error: null }),
  states: {
    charging: {
      invoke: {
        id: 'charge',
        src: 'charge',
        input: ({ context }) => ({ amount: context.amount }),
        onDone: { target: 'paid', actions: assign({ charged: ({ event }) => event.output }) },
        onError: { target: 'declined', actions: assign({ error: ({ event }) => (event.error as Error).message }) },
      },
      on: { ABANDON: 'abandoned' },
    },
    paid: { type: 'final' },
    declined: { type: 'final' },
    abandoned: {},
  },
  output: ({ context }) => ({ charged: context.charged }),
});

const calls: ActivityArgs<Input>[] = [];
let release: () => void = () => undefined;
const released = new Promise<void>((resolve) => (release = resolve));

@Workflow(payer, { activityAttempts: 3 })
@Injectable()
class PayerWorkflow {
  @WorkflowActivity('charge')
  async charge(args: ActivityArgs<Input>) {
    calls.push(args);
    const tries = calls.filter((c) => c.key === args.key).length;
    if (args.input.amount < 0) throw new Error('card declined');
    if (args.input.amount === 13 && tries < 2) throw new Error('gateway timeout');
    if (args.input.amount === 99) await released;
    return { charged: args.input.amount };
  }
}

let db: TestDatabase;
let app: INestApplicationContext;
let workflows: Workflows;

beforeAll(async () => {
  db = await createTestDatabase();
  const setupApp = await startNestApp(db.url, []);
  await setupApp
    .get(MailroomClient)
    .createQueue('workflow.payer.activities', { retry: { strategy: 'fixed', delayMs: 20 } });
  await setupApp.close();
  app = await startNestApp(db.url, [PayerWorkflow]);
  workflows = app.get(Workflows);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const settled = (key: string) => until(async () => (await workflows.get(PayerWorkflow, key)).status !== 'running');

describe('activities', () => {
  it('runs an invoked activity as a queue handler; its result is the done event, the final state’s output stored', async () => {
    const key = randomUUID();
    await workflows.start(PayerWorkflow, key, { amount: 40 });
    await settled(key);
    const instance = await workflows.get(PayerWorkflow, key);
    expect(instance).toMatchObject({ status: 'done', state: 'paid', waits: [] });
    expect(instance.snapshot).toMatchObject({ output: { charged: { charged: 40 } } });
  });

  it('retries a failing activity with one idempotency key, and answers with the done event once it succeeds', async () => {
    const key = randomUUID();
    await workflows.start(PayerWorkflow, key, { amount: 13 });
    await settled(key);
    expect((await workflows.get(PayerWorkflow, key)).state).toBe('paid');
    const mine = calls.filter((c) => c.key === key);
    expect(mine).toHaveLength(2);
    expect(new Set(mine.map((c) => c.idempotencyKey)).size).toBe(1);
  });

  it('answers with the error event when the activity keeps failing', async () => {
    const key = randomUUID();
    await workflows.start(PayerWorkflow, key, { amount: -1 });
    await settled(key);
    const instance = await workflows.get(PayerWorkflow, key);
    expect(instance.state).toBe('declined');
    expect(instance.snapshot).toMatchObject({ context: { error: 'card declined' } });
    expect(calls.filter((c) => c.key === key)).toHaveLength(3);
  });

  it('forgets an activity whose state was left: its late answer is stale', async () => {
    const key = randomUUID();
    await workflows.start(PayerWorkflow, key, { amount: 99 });
    await until(() => calls.some((c) => c.key === key));
    await workflows.send(PayerWorkflow, key, { type: 'ABANDON' });
    expect((await workflows.get(PayerWorkflow, key)).waits).toEqual([]);
    release(); // the activity answers after its state was left
    await until(async () => (await workflows.get(PayerWorkflow, key)).history[0].outcome === 'stale');
    expect(await workflows.get(PayerWorkflow, key)).toMatchObject({
      state: 'abandoned',
      snapshot: { context: { charged: null } },
    });
  });
});
