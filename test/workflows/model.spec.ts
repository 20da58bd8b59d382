import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, createActor, setup } from 'xstate';
import { MailroomClient, Workflow, Workflows } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

/** Nested, parallel, deep and shallow history, guards and context: what a stored snapshot must keep. */
const model = setup({
  types: { context: {} as { n: number; log: string[] } },
  guards: { even: ({ context }) => context.n % 2 === 0 },
  actions: { remember: assign({ log: ({ context, event }) => [...context.log, event.type].slice(-5) }) },
}).createMachine({
  id: 'model',
  initial: 'off',
  context: { n: 0, log: [] },
  states: {
    off: { on: { POWER: 'on', RESUME: ['#model.on.mode.hist', '#model.on.light.hist'] } },
    on: {
      type: 'parallel',
      on: { POWER: 'off', INC: { actions: [assign({ n: ({ context }) => context.n + 1 }), 'remember'] } },
      states: {
        mode: {
          initial: 'a',
          states: {
            a: { on: { NEXT: { target: 'b', actions: 'remember' } } },
            b: {
              initial: 'b1',
              states: {
                b1: { on: { NEXT: 'b2' } },
                b2: { on: { NEXT: { target: '#model.on.mode.a', guard: 'even', actions: 'remember' } } },
              },
            },
            hist: { type: 'history', history: 'deep' },
          },
        },
        light: {
          initial: 'dim',
          states: {
            dim: { on: { TOGGLE: 'bright' } },
            bright: { on: { TOGGLE: 'dim' } },
            hist: { type: 'history' },
          },
        },
      },
    },
  },
});

@Workflow(model, { concurrency: 8 })
@Injectable()
class ModelWorkflow {}

const EVENTS = ['POWER', 'RESUME', 'INC', 'NEXT', 'TOGGLE', 'BOGUS'];

/** A small seeded generator: a failing sequence can be replayed from its seed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
}

let db: TestDatabase;
let app: INestApplicationContext;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startNestApp(db.url, [ModelWorkflow]);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

describe('workflow model check', () => {
  it('gives the state and context an in-memory actor reaches, for random event sequences sent as messages', async () => {
    const workflows = app.get(Workflows);
    const client = app.get(MailroomClient);
    const runs = Array.from({ length: 12 }, (_, i) => {
      const next = random(i + 1);
      return { key: `seq-${i}`, events: Array.from({ length: 40 }, () => EVENTS[Math.floor(next() * EVENTS.length)]) };
    });
    for (const run of runs) await workflows.start(ModelWorkflow, run.key);
    // All sequences interleaved on the workflow's queue, each in order by its key.
    await client.sendBatch(
      'workflow.model',
      runs.flatMap((run) =>
        run.events.map((type) => ({ body: { key: run.key, kind: 'event', event: { type } }, groupKey: run.key })),
      ),
    );
    for (const run of runs) {
      await until(
        async () => (await workflows.get(ModelWorkflow, run.key, 100)).history.length === run.events.length + 1,
        30_000,
      );
      const actor = createActor(model).start();
      for (const type of run.events) actor.send({ type } as never);
      const expected = actor.getSnapshot();
      const stored = await workflows.get(ModelWorkflow, run.key);
      expect({ key: run.key, state: stored.state, context: (stored.snapshot as { context: unknown }).context }).toEqual(
        {
          key: run.key,
          state: expected.value,
          context: expected.context,
        },
      );
      actor.stop();
    }
  });
});
