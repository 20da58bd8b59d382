import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { query } from '../database/transaction';
import { MESSAGE_CHANNEL } from '../database/channels';

type Work = { done: () => void; undone?: () => void };

const registries = new WeakMap<DataSource, AfterCommit>();

/**
 * Work that runs in this process once a transaction has committed, and never if it rolls
 * back: a hint for speed (an activity run at once, a wake-up when a timer falls due),
 * never what a guarantee rests on — each has a durable path that works without it.
 * One per data source, listening to TypeORM's transaction events.
 */
export class AfterCommit {
  private readonly pending = new WeakMap<QueryRunner, Work[]>();

  static of(dataSource: DataSource): AfterCommit {
    let registry = registries.get(dataSource);
    if (!registry) {
      registry = new AfterCommit();
      registries.set(dataSource, registry);
      dataSource.subscribers.push({
        // The broadcast awaits what these return: they return nothing, the work runs later.
        afterTransactionCommit: ({ queryRunner }) => registry!.settle(queryRunner, true),
        // Before: a rollback whose statement fails (connection lost) still drops the work.
        beforeTransactionRollback: ({ queryRunner }) => registry!.settle(queryRunner, false),
      });
    }
    return registry;
  }

  /**
   * Runs `done` after `tx` commits, or `undone` when it rolls back (a savepoint's rollback
   * included); false, and nothing scheduled, when `tx` is in no transaction.
   */
  add(tx: EntityManager, done: () => void, undone?: () => void): boolean {
    const runner = tx.queryRunner;
    if (!runner?.isTransactionActive) return false;
    const list = this.pending.get(runner);
    if (list) list.push({ done, undone });
    else this.pending.set(runner, [{ done, undone }]);
    return true;
  }

  private settle(runner: QueryRunner, committed: boolean): void {
    // A savepoint's release leaves the transaction open: wait for the real commit.
    if (committed && runner.isTransactionActive) return;
    const list = this.pending.get(runner);
    this.pending.delete(runner);
    for (const work of list ?? []) {
      if (committed) setImmediate(work.done);
      else work.undone?.();
    }
  }
}

/** How close together timers share one wake-up (ms), and how far ahead one is scheduled at all. */
const WAKE_BUCKET_MS = 10;
const WAKE_HORIZON_MS = 120_000;

const WAKE_QUEUE_SQL = `SELECT pg_notify('${MESSAGE_CHANNEL}', id::text) FROM mailroom_queue WHERE name = ANY($1)`;

/**
 * Wakes the consumers of a workflow's queue when a timer this process armed falls due,
 * instead of at their next poll (pollIntervalMs): the delayed message is deliverable from
 * its deadline on, and nothing else announces it. Timers close together share one wake-up
 * (per WAKE_BUCKET_MS) and those further off than WAKE_HORIZON_MS get none, so a waiting
 * instance costs no memory. Fired a little after the deadline by this process's clock
 * (started after the commit, so after the database's), a wake-up is never early.
 */
export class TimerWakeups {
  private readonly buckets = new Map<number, Set<string>>();
  private stopped = false;

  constructor(private readonly dataSource: DataSource) {}

  /** After `tx` commits, schedules a wake-up of `queue` in `delayMs`. */
  schedule(tx: EntityManager, queue: string, delayMs: number): void {
    if (this.stopped || delayMs > WAKE_HORIZON_MS) return;
    AfterCommit.of(this.dataSource).add(tx, () => this.at(Date.now() + delayMs + 1, queue));
  }

  stop(): void {
    this.stopped = true;
    this.buckets.clear();
  }

  private at(time: number, queue: string): void {
    if (this.stopped) return;
    const bucket = Math.ceil(time / WAKE_BUCKET_MS) * WAKE_BUCKET_MS;
    const queues = this.buckets.get(bucket);
    if (queues) {
      queues.add(queue);
      return;
    }
    this.buckets.set(bucket, new Set([queue]));
    setTimeout(() => void this.wake(bucket), Math.max(0, bucket - Date.now())).unref();
  }

  private async wake(bucket: number): Promise<void> {
    const queues = this.buckets.get(bucket);
    this.buckets.delete(bucket);
    if (!queues || this.stopped || !this.dataSource.isInitialized) return;
    // A lost wake-up only costs the poll interval: the consumers' poll still finds the timer.
    await query(this.dataSource.manager, WAKE_QUEUE_SQL, [[...queues]]).catch(() => undefined);
  }
}
