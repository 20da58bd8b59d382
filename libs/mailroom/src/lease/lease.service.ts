import { execute } from '../database/transaction';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { ActorStore } from '../actor/actor.store';
import { pureInitialTransition, pureTransition } from '../actor/actor.transition';
import { asSingleton, CHORE_LOCKS } from '../database/singleton';
import { record, type QueueCount } from '../observability/instruments';
import type { QueueRef } from '../queue/queue.service';
import { leaseActor } from './lease.actor';
import { leaseMachine } from './lease.machine';
import { EXPIRE_LEASES } from './lease.sql';

/** Leases one reaper statement expires; a pass repeats it while it finds a full batch. */
const REAP_BATCH = 5_000;
const UNIQUE_VIOLATION = '23505';

/**
 * The lease machine's EXPIRE transition, which the reaper applies in bulk: the effects
 * EXPIRE_LEASES performs for every expiring lease are read from the machine here, so
 * the statement cannot drift from the definition unnoticed (a changed machine fails at load).
 */
const EXPIRE = (() => {
  const active = pureInitialTransition(leaseMachine, { queueId: 0, consumer: '' })[0];
  const [expired, actions] = pureTransition(leaseMachine, active, { type: 'EXPIRE' });
  const [returned, forgotten] = actions as { type: string; params?: { countAttempt: boolean } }[];
  if (expired.value !== 'expired' || returned?.type !== 'returnMessages' || forgotten?.type !== 'forget') {
    throw new Error('lease machine: EXPIRE no longer returns the messages and forgets the lease; update EXPIRE_LEASES');
  }
  return { spend: returned.params!.countAttempt ? 1 : 0 };
})();

interface ReapRow {
  expired: number;
  dead_lettered: QueueCount[];
  returned: QueueCount[];
}

/** Opens, releases and expires consumer leases (the lease actor's events). */
export class LeaseService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly actors: ActorStore,
  ) {}

  /**
   * Opens a lease for one consumer session. In exclusive ordering the database admits one
   * active lease per queue (a partial unique index); a second consumer gets null and
   * stays standby until the holder's lease is released or expires.
   */
  async open(queue: QueueRef, consumer: string, leaseMs: number): Promise<string | null> {
    const id = randomUUID();
    try {
      await this.actors.create(
        leaseActor,
        {
          id,
          exclusive: queue.options.ordering === 'exclusive',
          // leaseMs is a validated integer; the database clock decides expiry, never the node's.
          expiresAt: (() => `now() + ${Math.trunc(leaseMs)} * interval '1 millisecond'`) as never,
        },
        { queueId: queue.id, consumer },
      );
      return id;
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) return null;
      throw error;
    }
  }

  /** Graceful end of a lease: its messages go back without spending an attempt, and the row goes. */
  async release(id: string): Promise<void> {
    await this.actors.apply(leaseActor, { id }, { type: 'RELEASE' });
  }

  /**
   * One reaper pass, on one node at a time: every active lease past its deadline expires
   * (EXPIRE_LEASES, set-based): its messages return, each spending one attempt, and its
   * row is deleted. Returns how many leases expired.
   */
  async reap(): Promise<number> {
    let expired = 0;
    const passes: ReapRow[] = [];
    await asSingleton(this.dataSource, CHORE_LOCKS.leaseReaper, async (tx) => {
      let pass: ReapRow;
      do {
        [pass] = await execute<ReapRow>(tx, EXPIRE_LEASES, { batch: REAP_BATCH, spend: EXPIRE.spend });
        passes.push(pass);
        expired += pass.expired;
      } while (pass.expired === REAP_BATCH);
    });
    // Counted once committed: a pass that rolled back returned nothing.
    for (const pass of passes) {
      for (const c of pass.dead_lettered) record('deadLettered', c.queue, c.reason!, c.n);
      for (const c of pass.returned) record('leaseExpired', c.queue, c.n);
    }
    return expired;
  }
}
