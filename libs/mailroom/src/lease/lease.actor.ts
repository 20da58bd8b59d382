import { pureInitialTransition } from '../actor/actor.transition';
import { execute, query } from '../database/transaction';
import type { PersistedActor } from '../actor/actor.entity';
import type { ActorKind } from '../actor/actor.store';
import { LeaseEntity } from './lease.entity';
import { leaseMachine, type LeaseContext } from './lease.machine';
import { FORGET_LEASE_SQL, RETURN_MESSAGES } from './lease.sql';

/** Lease actors as the actor store keeps them. */
export const leaseActor: ActorKind<typeof leaseMachine, LeaseEntity> = {
  name: 'lease',
  machine: leaseMachine,
  entity: LeaseEntity,
  project: (snapshot) => ({ queueId: snapshot.context.queueId, consumer: snapshot.context.consumer }),
  effects: {
    returnMessages: async (manager, row, params) => {
      const { countAttempt } = params as { countAttempt: boolean };
      await execute(manager, RETURN_MESSAGES, { lease: row.id, spend: countAttempt ? 1 : 0, consumer: row.consumer });
    },
    forget: async (manager, row) => {
      await query(manager, FORGET_LEASE_SQL, [row.id]);
    },
  },
  refusal: (row, event) => `Lease ${row.id} is ${row.state}; it does not accept ${event.type}.`,
};

/**
 * A new lease's stored state and snapshot, as the machine starts it: claims that open a
 * lease inside their own statement (claim.sql.ts) write these, as ActorStore.create would.
 */
export function newLease(context: LeaseContext): { state: string; snapshot: PersistedActor } {
  const [snapshot] = pureInitialTransition(leaseMachine, context);
  return { state: String(snapshot.value), snapshot: { value: String(snapshot.value), context: snapshot.context } };
}
