import { query } from '../database/transaction';
import type { ActorKind } from '../actor/actor.store';
import { NOTIFY_QUEUE_SQL } from '../database/channels';
import { QueueEntity } from './queue.entity';
import { queueMachine, type QueueEvent } from './queue.machine';

/** Queue actors as the actor store keeps them. */
export const queueActor: ActorKind<typeof queueMachine, QueueEntity> = {
  name: 'queue',
  machine: queueMachine,
  entity: QueueEntity,
  project: ({ context: { name, options, deadLetterQueueId } }) => ({
    name,
    leaseMs: options.leaseMs,
    maxDeliveries: options.maxDeliveries,
    ordering: options.ordering,
    maxMessageBytes: options.maxMessageBytes,
    dedupWindowMs: options.dedupWindowMs,
    retentionMs: options.retentionMs,
    deadLetterQueueId,
    deadLetterExpired: options.deadLetterExpired,
    messageTtlMs: options.messageTtlMs,
    retryStrategy: options.retry.strategy,
    retryDelayMs: options.retry.delayMs,
    retryMaxDelayMs: options.retry.maxDelayMs,
    retryJitter: options.retry.jitter,
  }),
  effects: {
    wakeConsumers: async (manager, row) => {
      await query(manager, NOTIFY_QUEUE_SQL, [row.id]);
    },
  },
  // CONFIGURE has one guard, orderingUnchanged, in every state that accepts it: a CONFIGURE
  // refused where it is accepted failed that guard; any other refusal is the state's.
  refusal: (row, event: QueueEvent) => {
    if (event.type === 'CONFIGURE' && (row.state === 'active' || row.state === 'paused')) {
      return `Queue "${row.name}" has ordering "${row.ordering}"; ordering cannot change after creation. Create a new queue instead.`;
    }
    return `Queue "${row.name}" is ${row.state}; it does not accept ${event.type}.`;
  },
};
