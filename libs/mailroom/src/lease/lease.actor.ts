import { query } from '../database/transaction';
import type { ActorKind } from '../actor/actor.store';
import { LeaseEntity } from './lease.entity';
import { leaseMachine } from './lease.machine';
import { RETURN_MESSAGES_SQL } from './lease.sql';

/** Lease actors as the actor store keeps them. */
export const leaseActor: ActorKind<typeof leaseMachine, LeaseEntity> = {
  name: 'lease',
  machine: leaseMachine,
  entity: LeaseEntity,
  project: (snapshot) => ({ queueId: snapshot.context.queueId, consumer: snapshot.context.consumer }),
  effects: {
    returnMessages: async (manager, row, params) => {
      const { countAttempt } = params as { countAttempt: boolean };
      await query(manager, RETURN_MESSAGES_SQL, [row.id, countAttempt ? 1 : 0, row.consumer]);
    },
  },
  refusal: (row, event) => `Lease ${row.id} is ${row.state}; it does not accept ${event.type}.`,
};
