import { query } from '../database/transaction';
import { randomUUID } from 'node:crypto';
import { Raw, type DataSource } from 'typeorm';
import type { ActorStore } from '../actor/actor.store';
import { asSingleton, CHORE_LOCKS } from '../database/singleton';
import type { QueueRef } from '../queue/queue.service';
import { leaseActor } from './lease.actor';
import { EXPIRED_LEASES_SQL } from './lease.sql';

const REAP_BATCH = 100;
const UNIQUE_VIOLATION = '23505';

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

  /** Graceful end of a session: its messages go back without spending an attempt. */
  async release(id: string): Promise<void> {
    await this.actors.apply(leaseActor, { id }, { type: 'RELEASE' });
  }

  /**
   * One reaper pass, on one node at a time: expires active leases past their expiry;
   * each returns its messages and spends one attempt on each. The expiry is checked again
   * under the row lock, so a lease renewed since the scan is left alone.
   */
  async reap(): Promise<number> {
    let expired = 0;
    await asSingleton(this.dataSource, CHORE_LOCKS.leaseReaper, async (tx) => {
      const rows: { id: string }[] = await query<{ id: string }>(tx, EXPIRED_LEASES_SQL, [REAP_BATCH]);
      for (const { id } of rows) {
        const stillExpired = { id, state: 'active', expiresAt: Raw((at) => `${at} < now()`) };
        const applied = await this.actors.apply(leaseActor, stillExpired, { type: 'EXPIRE' }, tx);
        if (applied?.changed) expired += 1;
      }
    });
    return expired;
  }
}
