import { assign, setup } from 'xstate';

export interface SubscriptionFilter {
  /** AMQP-style pattern over the message's routing key; null matches every message. */
  routingKey: string | null;
  /** Header equality: every listed header must have this value. */
  headers: Record<string, string>;
}

export interface SubscriptionContext extends SubscriptionFilter {
  topicId: number;
  name: string;
  queueId: number;
}

export type SubscriptionEvent =
  { type: 'CONFIGURE'; filter: SubscriptionFilter } | { type: 'PAUSE' } | { type: 'RESUME' } | { type: 'DETACH' };

/**
 * A subscription binds a topic to a queue: active ⇄ paused → detached. A paused
 * subscription keeps receiving copies but none is delivered; a detached one receives no
 * more. Pure: the wake-up on resume is a named action the actor store runs.
 */
export const subscriptionMachine = setup({
  types: {
    context: {} as SubscriptionContext,
    events: {} as SubscriptionEvent,
    input: {} as SubscriptionContext,
  },
  actions: {
    configure: assign(({ context, event }) => (event.type === 'CONFIGURE' ? { ...context, ...event.filter } : context)),
    /** Copies held back while paused become deliverable: wake the queue's consumers. */
    wakeConsumers: () => {},
  },
}).createMachine({
  id: 'subscription',
  context: ({ input }) => input,
  initial: 'active',
  states: {
    active: {
      on: { CONFIGURE: { actions: 'configure' }, PAUSE: 'paused', RESUME: {}, DETACH: 'detached' },
    },
    paused: {
      on: {
        CONFIGURE: { actions: 'configure' },
        RESUME: { target: 'active', actions: 'wakeConsumers' },
        PAUSE: {},
        DETACH: { target: 'detached', actions: 'wakeConsumers' },
      },
    },
    detached: { on: { DETACH: {} } },
  },
});
