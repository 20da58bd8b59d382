import { assign, setup } from 'xstate';
import type { QueueOptions } from './queue.options';

export interface QueueContext {
  name: string;
  options: QueueOptions;
  /** The DLQ named in options, resolved when it was configured (it must exist then). */
  deadLetterQueueId: number | null;
}

export type QueueEvent =
  | { type: 'CONFIGURE'; options: QueueOptions; deadLetterQueueId: number | null }
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'DELETE' }
  | { type: 'DELETED' };

/**
 * A queue's life: active ⇄ paused → deleting → deleted. Pure: effects are the named
 * actions, which the actor store runs inside the transition's transaction.
 * Paused queues accept sends and deliver nothing.
 */
export const queueMachine = setup({
  types: {
    context: {} as QueueContext,
    events: {} as QueueEvent,
    input: {} as QueueContext,
  },
  guards: {
    /**
     * Changing ordering under live consumers would break the promise the old mode made.
     * (A queue that is its own DLQ is refused earlier, by resolveQueueOptions: bad input.)
     */
    orderingUnchanged: ({ context, event }) =>
      event.type === 'CONFIGURE' && event.options.ordering === context.options.ordering,
  },
  actions: {
    configure: assign(({ context, event }) =>
      event.type === 'CONFIGURE' ? { options: event.options, deadLetterQueueId: event.deadLetterQueueId } : context,
    ),
    /** Waiting consumers claim again: messages sent while paused become deliverable. */
    wakeConsumers: () => {},
  },
}).createMachine({
  id: 'queue',
  context: ({ input }) => input,
  initial: 'active',
  states: {
    active: {
      on: {
        CONFIGURE: { guard: 'orderingUnchanged', actions: 'configure' },
        PAUSE: 'paused',
        RESUME: {},
        DELETE: 'deleting',
      },
    },
    paused: {
      on: {
        CONFIGURE: { guard: 'orderingUnchanged', actions: 'configure' },
        RESUME: { target: 'active', actions: 'wakeConsumers' },
        PAUSE: {},
        DELETE: 'deleting',
      },
    },
    deleting: {
      on: { DELETE: {}, DELETED: 'deleted' },
    },
    deleted: { on: { DELETE: {} } },
  },
});

export type QueueState = 'active' | 'paused' | 'deleting' | 'deleted';
