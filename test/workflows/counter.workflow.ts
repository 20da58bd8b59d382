import { Injectable } from '@nestjs/common';
import { assign, setup } from 'xstate';
import { Workflow, WorkflowAction, type WorkflowActionArgs, type WorkflowEffects } from '@mailroom/core';

/** A small workflow for the engine's guarantees: counts INC events, emits a notice per count. */
export const counterMachine = setup({
  types: {
    context: {} as { n: number },
    events: {} as { type: 'INC' } | { type: 'BUMP' } | { type: 'STOP' } | { type: 'BOOM' },
  },
  actions: { notify: () => undefined, explode: () => undefined },
}).createMachine({
  id: 'counter',
  version: '1',
  initial: 'counting',
  context: { n: 0 },
  states: {
    counting: {
      tags: ['open'],
      on: {
        INC: { actions: [assign({ n: ({ context }) => context.n + 1 }), 'notify'] },
        BUMP: { actions: [assign({ n: ({ context }) => context.n + 10 }), 'notify'] },
        BOOM: { actions: 'explode' },
        STOP: 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
});

@Workflow(counterMachine, {
  correlate: {
    INC: { from: 'counter-inc', key: (m: { id: string }) => m.id },
    BUMP: { topic: 'counter-events', routingKey: 'counter.bump', key: (m: { id: string }) => m.id },
  },
  notFoundAttempts: 3,
  concurrency: 10,
})
@Injectable()
export class CounterWorkflow {
  failNext = 0;

  @WorkflowAction('notify')
  notify({ context }: WorkflowActionArgs<{ n: number }>, out: WorkflowEffects) {
    out.send('counter-notices', { n: context.n });
  }

  @WorkflowAction('explode')
  explode() {
    throw new Error('boom');
  }
}
