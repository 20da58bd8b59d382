import type { ActorKind } from '../actor/actor.store';
import { NOTIFY_QUEUE_SQL } from '../database/channels';
import { query } from '../database/transaction';
import { routingPattern } from '../topic/routing-key';
import { SubscriptionEntity } from './subscription.entity';
import { subscriptionMachine } from './subscription.machine';

/** Subscription actors as the actor store keeps them. */
export const subscriptionActor: ActorKind<typeof subscriptionMachine, SubscriptionEntity> = {
  name: 'subscription',
  machine: subscriptionMachine,
  entity: SubscriptionEntity,
  project: ({ context }) => ({
    topicId: context.topicId,
    name: context.name,
    queueId: context.queueId,
    routingKey: context.routingKey,
    routingRegex: context.routingKey === null ? null : routingPattern(context.routingKey),
    headerFilter: context.headers,
  }),
  effects: {
    wakeConsumers: async (manager, row) => {
      await query(manager, NOTIFY_QUEUE_SQL, [row.queueId]);
    },
  },
  refusal: (row, event) => `Subscription "${row.name}" is ${row.state}; it does not accept ${event.type}.`,
};
