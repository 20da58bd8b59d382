import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { query } from '../database/transaction';
import type { MailroomServices } from '../services/mailroom.services';

/** `done` learns when the transaction began, by this process's clock (AfterCommit.begin, observe). */
type Work = { done: (begun: number | undefined) => void; undone?: () => void };

/**
 * How fast the database's clock may fall behind this process's monotonic one (ms per ms):
 * 500 ppm, the most NTP slews a clock. The bound on their difference is lowered by it as it ages.
 */
const MAX_DRIFT = 5e-4;

const registries = new WeakMap<DataSource, AfterCommit>();

/**
 * Work that runs in this process once a transaction has committed, and never if it rolls
 * back: a hint for speed (an activity run at once, a wake-up when a timer falls due),
 * never what a guarantee rests on — each has a durable path that works without it.
 * One per data source, listening to TypeORM's transaction events: take the one of the
 * transaction's own (`AfterCommit.of(tx.connection)`), which may be another data source
 * than Mailroom's when the app passes its own manager.
 */
export class AfterCommit {
  private readonly pending = new WeakMap<QueryRunner, Work[]>();
  /** When each open transaction began, by this process's monotonic clock (performance.now()): see observe. */
  private readonly begun = new WeakMap<QueryRunner, number>();
  /** A lower bound of the database's clock (epoch ms) minus performance.now(), as of `offsetAt`. */
  private clockOffset = -Infinity;
  private offsetAt = 0;

  static of(dataSource: DataSource): AfterCommit {
    let registry = registries.get(dataSource);
    if (!registry) {
      registry = new AfterCommit();
      registries.set(dataSource, registry);
      dataSource.subscribers.push({
        afterTransactionStart: ({ queryRunner }) => registry!.begin(queryRunner),
        // The broadcast awaits what these return: they return nothing, the work runs later.
        afterTransactionCommit: ({ queryRunner }) => registry!.settle(queryRunner, true),
        // Before: a rollback whose statement fails (connection lost) still drops the work.
        beforeTransactionRollback: ({ queryRunner }) => registry!.settle(queryRunner, false),
      });
    }
    return registry;
  }

  /**
   * Runs `done` after `tx` commits, with when the transaction began by this process's clock,
   * or `undone` when it rolls back (a savepoint's rollback included); false, and nothing
   * scheduled, when `tx` is in no transaction.
   */
  add(tx: EntityManager, done: Work['done'], undone?: () => void): boolean {
    const runner = tx.queryRunner;
    if (!runner?.isTransactionActive) return false;
    const list = this.pending.get(runner);
    if (list) list.push({ done, undone });
    else this.pending.set(runner, [{ done, undone }]);
    return true;
  }

  /**
   * Learns when `tx` began from a statement it ran, whose answer reported the transaction's
   * `now()` (`beganMs`) and the clock as it ran (`clockMs`), both epoch ms by the database's
   * clock. A transaction's start is first taken as its BEGIN's answer, which is never before
   * the database's `now()` but late by however long this process took to read it (a
   * collection, a busy event loop). The statement ran before its answer was read, so the
   * database's clock minus this process's is at least `clockMs` minus the time read now; the
   * greatest such bound, lowered as it ages by MAX_DRIFT, turns `beganMs` into this process's
   * clock, not before the true moment and late by about the fastest recent round trip.
   */
  observe(tx: EntityManager, beganMs: number, clockMs: number): void {
    const now = performance.now();
    this.clockOffset = Math.max(clockMs - now, this.clockOffset - (now - this.offsetAt) * MAX_DRIFT);
    this.offsetAt = now;
    const runner = tx.queryRunner;
    const known = runner && this.begun.get(runner);
    if (runner?.isTransactionActive && known !== undefined)
      this.begun.set(runner, Math.min(known, beganMs - this.clockOffset));
  }

  private begin(runner: QueryRunner): void {
    // A savepoint inside the transaction: the transaction's own start stands.
    if (!this.begun.has(runner)) this.begun.set(runner, performance.now());
  }

  private settle(runner: QueryRunner, committed: boolean): void {
    // A savepoint's release leaves the transaction open: wait for the real commit.
    if (committed && runner.isTransactionActive) return;
    const begun = this.begun.get(runner);
    if (!runner.isTransactionActive) this.begun.delete(runner);
    const list = this.pending.get(runner);
    this.pending.delete(runner);
    for (const work of list ?? []) {
      if (committed) setImmediate(() => work.done(begun));
      else work.undone?.();
    }
  }
}

/** How close together timers share one wake-up (ms), and how far ahead one is scheduled at all. */
const WAKE_BUCKET_MS = 1;
const WAKE_HORIZON_MS = 120_000;

/**
 * Wakes the consumers of a workflow's queue when a timer this process armed falls due,
 * instead of at their next poll (pollIntervalMs): the delayed message is deliverable from
 * its deadline on, and nothing else announces it.
 * - The deadline is the arming transaction's `now()` plus the delay. This process knows
 *   that start by its own clock, never before it (AfterCommit.observe), so a wake-up is
 *   never early whatever the two clocks read, and late by about one round trip.
 * - This node's consumers are woken directly; other nodes' by one announcement at a time
 *   on the node's LISTEN connection (Wakeups.announce), carrying every queue that fell due
 *   meanwhile. Neither waits for a pool connection behind the work that keeps the pool
 *   busy, and announcements cannot pile up behind the database-wide lock every NOTIFY
 *   takes at commit.
 * - Timers in one millisecond share a wake-up; those further off than WAKE_HORIZON_MS get
 *   none, so a waiting instance costs no memory.
 */
export class TimerWakeups {
  private readonly buckets = new Map<number, Set<string>>();
  /** Queues other nodes are still to hear of, and whether an announcement is under way. */
  private readonly unannounced = new Set<string>();
  private announcing = false;
  private stopped = false;

  constructor(private readonly services: MailroomServices) {}

  /** After `tx` commits, schedules a wake-up of `queue` `delayMs` after `tx` began. */
  schedule(tx: EntityManager, queue: string, delayMs: number): void {
    if (this.stopped || delayMs > WAKE_HORIZON_MS) return;
    // + 1: an early wake-up would find nothing and leave the timer to the next poll.
    const held = performance.now(); // a transaction begun before AfterCommit.of: counted from now
    AfterCommit.of(tx.connection).add(tx, (begun = held) => this.at(begun + delayMs + 1, queue));
  }

  /** Wakes `queue`'s consumers now (a timer held here that this process does not fire after all). */
  wake(queue: string): void {
    this.at(performance.now(), queue);
  }

  stop(): void {
    this.stopped = true;
    this.buckets.clear();
    this.unannounced.clear();
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
    setTimeout(() => void this.fall(bucket), Math.max(0, bucket - performance.now())).unref();
  }

  // A lost wake-up only costs the poll interval: the consumers' poll still finds the timer.
  private async fall(bucket: number): Promise<void> {
    const queues = this.buckets.get(bucket);
    this.buckets.delete(bucket);
    if (!queues || this.stopped) return;
    for (const name of queues) {
      const ref = await this.services.queues.ref(name).catch(() => null);
      if (ref) this.services.wakeups.wakeLocal(ref.id);
      this.unannounced.add(name);
    }
    if (this.announcing) return;
    this.announcing = true;
    const dataSource = this.services.dataSource;
    const fallback = (sql: string, params: unknown[]) => query(dataSource.manager, sql, params);
    try {
      while (this.unannounced.size > 0 && !this.stopped && dataSource.isInitialized) {
        const names = [...this.unannounced];
        this.unannounced.clear();
        await this.services.wakeups.announce(names, fallback).catch(() => undefined);
      }
    } finally {
      this.announcing = false;
    }
  }
}
