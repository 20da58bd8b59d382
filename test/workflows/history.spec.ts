import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { Workflow, Workflows } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';

const tally = setup({ types: { context: {} as { n: number }, events: {} as { type: 'INC' } } }).createMachine({
  id: 'tally',
  initial: 'open',
  context: { n: 0 },
  states: { open: { on: { INC: { actions: assign({ n: ({ context }) => context.n + 1 }) } } } },
});

@Workflow(tally, { historyLimit: 3 })
@Injectable()
class TallyWorkflow {}

let db: TestDatabase;
let app: INestApplicationContext;
let workflows: Workflows;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startNestApp(db.url, [TallyWorkflow]);
  workflows = app.get(Workflows);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const rows = async (key: string) =>
  Number(
    (
      await db.dataSource.query(
        `SELECT count(*) FROM mailroom_workflow_history h JOIN mailroom_workflow_instance i ON i.id = h.instance_id WHERE i.key = $1`,
        [key],
      )
    )[0].count,
  );

describe('workflow history retention', () => {
  it('keeps the newest `historyLimit` transitions of each instance, deleting older ones as it goes', async () => {
    const [busy, quiet] = [randomUUID(), randomUUID()];
    await workflows.start(TallyWorkflow, busy);
    await workflows.start(TallyWorkflow, quiet);
    for (let i = 0; i < 10; i += 1) await workflows.send(TallyWorkflow, busy, { type: 'INC' });
    await workflows.send(TallyWorkflow, quiet, { type: 'INC' });
    expect(await rows(busy)).toBe(3);
    const instance = await workflows.get(TallyWorkflow, busy);
    expect(instance.snapshot).toMatchObject({ context: { n: 10 } });
    expect(instance.history.map((h) => h.outcome)).toEqual(['applied', 'applied', 'applied']);
    expect(await rows(quiet)).toBe(2); // started + one INC: another instance's rows are its own
  });
});
