import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { fromPromise, setup } from 'xstate';
import {
  mailroomEntities,
  MailroomClient,
  MailroomModule,
  Workflow,
  WorkflowAction,
  WorkflowActivity,
  Workflows,
  type WorkflowActionArgs,
} from '@mailroom/core';
import type { W6System } from './system';

const step = fromPromise<{ ok: true }, { orderId: string }>(async () => ({ ok: true }));
type Order = { orderId: string };

/** Three steps, each an activity (a handler on workflow.w6order.activities), then done. */
const orderMachine = setup({
  types: { context: {} as Order, input: {} as Order },
  actors: { reserve: step, charge: step, ship: step },
  actions: { finished: () => undefined },
}).createMachine({
  id: 'w6order',
  initial: 'reserving',
  context: ({ input }) => ({ orderId: input.orderId }),
  states: {
    reserving: { invoke: { src: 'reserve', input: ({ context }) => context, onDone: 'charging' } },
    charging: { invoke: { src: 'charge', input: ({ context }) => context, onDone: 'shipping' } },
    shipping: { invoke: { src: 'ship', input: ({ context }) => context, onDone: 'done' } },
    done: { type: 'final', entry: 'finished' },
  },
});

/** Waits `waitMs` (an `after` delay: a delayed message committed with the start), then ends. */
const timerMachine = setup({
  types: { context: {} as { waitMs: number }, input: {} as { waitMs: number } },
  delays: { WAIT: ({ context }) => context.waitMs },
}).createMachine({
  id: 'w6timer',
  initial: 'waiting',
  context: ({ input }) => ({ waitMs: input.waitMs }),
  states: { waiting: { after: { WAIT: 'fired' } }, fired: { type: 'final' } },
});

export const ORDERS_QUEUE = 'w6-orders';
const finished = new Map<string, number>();

@Workflow(orderMachine, {
  correlate: { OrderPlaced: { from: ORDERS_QUEUE, key: (m: Order) => m.orderId, start: true } },
  concurrency: 10,
})
@Injectable()
class OrderWorkflow {
  @WorkflowAction('finished')
  finished({ context }: WorkflowActionArgs<Order>) {
    finished.set(context.orderId, performance.now());
  }
  @WorkflowActivity('reserve')
  reserve() {
    return { ok: true };
  }
  @WorkflowActivity('charge')
  charge() {
    return { ok: true };
  }
  @WorkflowActivity('ship')
  ship() {
    return { ok: true };
  }
}

@Workflow(timerMachine, { concurrency: 10 })
@Injectable()
class TimerWorkflow {}

/** A Nest application context with Mailroom at its defaults (plus `concurrency: 10` per workflow). */
export async function openMailroom(url: string): Promise<W6System> {
  @Module({
    imports: [TypeOrmModule.forRoot({ type: 'postgres', url, entities: mailroomEntities }), MailroomModule.forRoot({})],
    providers: [OrderWorkflow, TimerWorkflow],
  })
  class W6Module {}
  const app: INestApplicationContext = await NestFactory.createApplicationContext(W6Module, { logger: ['error'] });
  const client = app.get(MailroomClient);
  const workflows = app.get(Workflows);
  // Grouped by order id: the workflow consumes it `concurrency` at a time, each order's messages in order.
  await client.createQueue(ORDERS_QUEUE, { ordering: 'grouped' }).catch(() => undefined);
  const query = (sql: string, params: unknown[] = []) => client.dataSource.query(sql, params);
  return {
    startOrder: async (orderId) => {
      await client.send(ORDERS_QUEUE, { type: 'OrderPlaced', orderId }, { groupKey: orderId });
    },
    finishedAt: (orderId) => finished.get(orderId),
    startTimer: async (key, waitMs) => {
      await workflows.start(TimerWorkflow, key, { waitMs });
    },
    startTimers: async (keys, waitMs) => {
      await client.dataSource.transaction(async (manager) => {
        for (const key of keys) await workflows.start(TimerWorkflow, key, { waitMs }, { manager });
      });
    },
    timersFired: async () =>
      Number(
        (
          await query(`SELECT count(*) FROM mailroom_workflow_instance WHERE workflow = 'w6timer' AND status = 'done'`)
        )[0].count,
      ),
    timerLateness: async (waitMs) =>
      new Map(
        (
          await query(
            `SELECT i.key, extract(epoch FROM h.created_at - (i.created_at + $1 * interval '1 millisecond')) * 1000 AS late
               FROM mailroom_workflow_instance i JOIN mailroom_workflow_history h ON h.instance_id = i.id
              WHERE i.workflow = 'w6timer' AND h.event ->> 'type' LIKE 'xstate.after.%' AND h.outcome = 'applied'`,
            [waitMs],
          )
        ).map((r: { key: string; late: string }) => [r.key, Number(r.late)]),
      ),
    transitions: async () => Number((await query(`SELECT count(*) FROM mailroom_workflow_history`))[0].count),
    waiting: async () =>
      Number((await query(`SELECT count(*) FROM mailroom_workflow_instance WHERE status = 'running'`))[0].count),
    close: () => app.close(),
  };
}
