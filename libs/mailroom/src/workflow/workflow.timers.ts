import type { EntityManager, QueryRunner } from 'typeorm';
import type { MailroomServices } from '../services/mailroom.services';
import { AfterCommit, type TimerWakeups } from './workflow.after-commit';
import type { WorkflowDefinition } from './workflow.definition';
import type { WorkflowEngine } from './workflow.engine';

/** A timer armed by a transition of this process: what firing it takes. */
export interface HeldTimer {
  key: string;
  event: { type: string };
  /** The wait's message id, which is also the timer's delayed message. */
  wait: string;
}

interface Due extends HeldTimer {
  definition: WorkflowDefinition;
  /** When it falls due, by performance.now(). */
  deadline: number;
}

/** How far ahead (ms) a timer is held at all: beyond it, a waiting instance costs no memory. */
const HORIZON_MS = 120_000;
/** The most timers this process holds; beyond it a timer is its queue's alone. */
const MAX_HELD = 10_000;
/** The most timers one firing transaction applies. */
const MAX_BATCH = 100;
/** How long (ms) the firing connection is kept after the last firing. */
const KEEP_CONNECTION_MS = 1_000;

/**
 * Timers fire in the process whose transition armed them, at their deadline, instead of
 * when a consumer claims their message: a hint for speed, never what a guarantee rests
 * on. Each timer is still a delayed message committed with that transition, deliverable
 * from its deadline; if this process dies, or cannot fire it, the queue delivers it
 * (retried by its policy, dead-lettered when exhausted).
 * - A timer due within HORIZON_MS (while fewer than MAX_HELD are held) is *held*: at its
 *   deadline this process applies it (WorkflowEngine.fire). The database has the last
 *   word: the wait must be due by its clock and its message held by no consumer, else
 *   nothing changes; one not due yet is held for the rest by the database's count.
 * - The deadline is counted from the arming transaction's BEGIN (AfterCommit.begunAt, read
 *   after its answer, so not early); the timeout is set a millisecond short and the rest
 *   waited out turn by turn of the event loop, since timeouts count whole milliseconds.
 * - Timers due meanwhile are applied together, in deadline order, by one transaction at a
 *   time on a connection kept for it while timers fall due: a firing waits for no pool
 *   connection, and under load the batches grow instead of the transactions. A batch that
 *   fails is applied again one timer at a time, so one bad timer costs its neighbours a
 *   retry, never an effect; the one that fails is handed to its queue, whose consumers
 *   are woken.
 */
export class HeldTimers {
  private readonly due = new Map<number, Due[]>();
  private readonly held = new Set<string>();
  private readonly ready: Due[] = [];
  private firing: Promise<void> | null = null;
  private runner: QueryRunner | null = null;
  private lastFired = 0;
  private stopped = false;

  constructor(
    private readonly services: MailroomServices,
    private readonly engine: WorkflowEngine,
    private readonly wakeups: TimerWakeups,
  ) {}

  /**
   * Holds `timer` of `definition`, armed by `tx`, to fire `delayMs` after that transaction
   * began, once it commits. False when it is not held: its queue's wake-up serves it.
   */
  hold(tx: EntityManager, definition: WorkflowDefinition, timer: HeldTimer, delayMs: number): boolean {
    if (this.stopped || delayMs > HORIZON_MS || this.held.size >= MAX_HELD) return false;
    const transactions = AfterCommit.of(this.services.dataSource);
    const begun = transactions.begunAt(tx) ?? performance.now();
    const added = transactions.add(
      tx,
      () => this.at({ ...timer, definition, deadline: begun + delayMs }),
      () => this.held.delete(timer.wait),
    );
    if (added) this.held.add(timer.wait);
    return added;
  }

  /** Stops holding timers: their messages are their queues' (deliverable since their deadlines). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.due.clear();
    this.ready.length = 0;
    this.held.clear();
    await this.firing;
    await this.releaseConnection();
  }

  private at(timer: Due): void {
    if (this.stopped || !this.held.has(timer.wait)) return;
    const bucket = Math.ceil(timer.deadline * 10) / 10; // timers within 0.1 ms share a wake-up
    const list = this.due.get(bucket);
    if (list) return void list.push(timer);
    this.due.set(bucket, [timer]);
    this.arm(bucket);
  }

  private arm(bucket: number): void {
    setTimeout(() => this.fall(bucket), Math.max(0, bucket - performance.now() - 1)).unref();
  }

  private fall(bucket: number): void {
    const rest = bucket - performance.now();
    if (rest > 1) return this.arm(bucket);
    if (rest > 0) return void setImmediate(() => this.fall(bucket));
    const list = this.due.get(bucket);
    this.due.delete(bucket);
    if (list) this.ready.push(...list);
    this.pump();
  }

  /** One firing transaction at a time, taking every timer due by then (up to MAX_BATCH). */
  private pump(): void {
    if (this.firing || this.stopped || this.ready.length === 0) return;
    const batch = this.ready.splice(0, MAX_BATCH);
    this.firing = this.fire(batch).finally(() => {
      this.firing = null;
      this.lastFired = performance.now();
      if (this.ready.length > 0) return this.pump();
      setTimeout(() => {
        if (!this.firing && performance.now() - this.lastFired >= KEEP_CONNECTION_MS) void this.releaseConnection();
      }, KEEP_CONNECTION_MS).unref();
    });
  }

  private async fire(batch: Due[]): Promise<void> {
    let refused: [Due, number][];
    try {
      refused = await this.transaction(async (tx) => {
        const answers: [Due, number][] = [];
        for (const timer of batch) {
          const dueInMs = await this.engine.fire(timer.definition, timer, tx);
          if (dueInMs !== null) answers.push([timer, dueInMs]);
        }
        return answers;
      });
    } catch {
      if (batch.length > 1) for (const timer of batch) await this.fire([timer]);
      else this.handOver(batch[0]);
      return;
    }
    for (const timer of batch) this.held.delete(timer.wait);
    for (const [timer, dueInMs] of refused) {
      if (dueInMs <= 0 || this.stopped) this.handOver(timer);
      else {
        // The database's clock puts the deadline later: held for the rest of its time.
        this.held.add(timer.wait);
        this.at({ ...timer, deadline: performance.now() + dueInMs });
      }
    }
  }

  /** Not this process's to fire after all: its message's consumers are woken for it. */
  private handOver(timer: Due): void {
    this.held.delete(timer.wait);
    this.wakeups.wake(timer.definition.queue);
  }

  private async transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    if (!this.runner || this.runner.isReleased) {
      this.runner = this.services.dataSource.createQueryRunner();
      await this.runner.connect();
    }
    const runner = this.runner;
    await runner.startTransaction();
    try {
      const result = await work(runner.manager);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      // A rollback that fails (the connection is gone) takes the connection with it.
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => this.releaseConnection());
      throw error;
    }
  }

  private async releaseConnection(): Promise<void> {
    const runner = this.runner;
    this.runner = null;
    if (runner && !runner.isReleased) await runner.release().catch(() => undefined);
  }
}
