import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { Workflow, Workflows, WorkflowTestKit } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';

/** Reminds after an hour, then escalates a day later: two timers, the second armed by the first. */
const dunning = setup({ delays: { HOUR: 3_600_000, DAY: 86_400_000 } }).createMachine({
  id: 'dunning',
  initial: 'due',
  states: {
    due: { after: { HOUR: 'reminded' }, on: { PAID: 'paid' } },
    reminded: { after: { DAY: 'escalated' }, on: { PAID: 'paid' } },
    escalated: {},
    paid: { type: 'final' },
  },
});

@Workflow(dunning)
@Injectable()
class DunningWorkflow {}

let db: TestDatabase;
let app: INestApplicationContext;
let kit: WorkflowTestKit;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startNestApp(db.url, [DunningWorkflow]);
  kit = new WorkflowTestKit(app.get(Workflows));
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

describe('WorkflowTestKit', () => {
  it('fires due timers when its clock advances, without waiting for them, and only those', async () => {
    await kit.start(DunningWorkflow, 'inv-1');
    expect(await kit.advance(DunningWorkflow, 'inv-1', 59 * 60_000)).toBe(0);
    expect(await kit.state(DunningWorkflow, 'inv-1')).toBe('due');
    expect(await kit.advance(DunningWorkflow, 'inv-1', 60_000)).toBe(1);
    expect(await kit.state(DunningWorkflow, 'inv-1')).toBe('reminded');
    expect(await kit.advance(DunningWorkflow, 'inv-1', 86_400_000)).toBe(1);
    expect(await kit.state(DunningWorkflow, 'inv-1')).toBe('escalated');
  });

  it('fires nothing for a timer its state already cancelled', async () => {
    const other = new WorkflowTestKit(app.get(Workflows));
    await other.start(DunningWorkflow, 'inv-2');
    await other.send(DunningWorkflow, 'inv-2', { type: 'PAID' });
    expect(await other.advance(DunningWorkflow, 'inv-2', 10 * 86_400_000)).toBe(0);
    expect(await other.get(DunningWorkflow, 'inv-2')).toMatchObject({ status: 'done', state: 'paid', waits: [] });
  });
});
