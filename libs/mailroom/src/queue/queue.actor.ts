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
  project: (snapshot) => ({ name: snapshot.context.name, ...snapshot.context.options }),
  effects: {
    wakeConsumers: async (manager, row) => {
      await query(manager, NOTIFY_QUEUE_SQL, [row.id]);
    },
  },
  refusal: (row, event: QueueEvent) =>
    event.type === 'CONFIGURE' && row.state !== 'deleting'
      ? `Queue "${row.name}" has ordering "${row.ordering}"; ordering cannot change after creation. Create a new queue instead.`
      : `Queue "${row.name}" is ${row.state}; it does not accept ${event.type}.`,
};
