import type { EntityManager } from 'typeorm';
import type { MailroomServices } from '../services/mailroom.services';
import { AfterCommit, type TimerWakeups } from './workflow.after-commit';
import type { WorkflowDefinition } from './workflow.definition';
import type { WorkflowEngine } from './workflow.engine';
import type { WorkflowEnvelope } from './workflow.kind';
import { LOCK_DUE_TIMERS_SQL } from './workflow.sql';
import { query } from '../database/transaction';
import { record, secondsSince } from '../observability/instruments';
import { failActiveSpan, outsideTrace, traceBatch, traceContextHeaders, traceHandler } from '../observability/tracing';

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
  /** The trace context it was armed in: its firing's spans link to it, as a delivery's to its send. */
  headers: Record<string, string>;
}

/** How far ahead (ms) a timer is held at all: beyond it, a waiting instance costs no memory. */
const HORIZON_MS = 120_000;
/** The most timers this process holds; beyond it a timer is its queue's alone. */
const MAX_HELD = 10_000;
/** The most timers one firing transaction applies. */
const MAX_BATCH = 100;
/** How close together (ms) held timers share one wake-up. */
const BUCKET_MS = 0.1;
/** The most firing transactions at once (pool connections they may take). */
const MAX_FIRING = 4;

/**
 * Timers fire in the process whose transition armed them, at their deadline, instead of
 * when a consumer claims their message: a hint for speed, never what a guarantee rests
 * on. Each timer is still a delayed message committed with that transition, deliverable
 * from its deadline; if this process dies, or cannot fire it, the queue delivers it
 * (retried by its policy, dead-lettered when exhausted).
 * - A timer due within HORIZON_MS (while fewer than MAX_HELD are held) is *held*: at its
 *   deadline this process applies it. The database has the last word (LOCK_DUE_TIMERS_SQL):
 *   the wait must be due by its clock and its message held by no consumer, else
 *   nothing changes: one not due yet is held for the rest by the database's count, one
 *   a consumer holds is left to it, one whose instance a consumer's delivery has locked
 *   (skipped, not waited for) goes to the queue.
 * - The deadline is counted from the arming transaction's `now()`, known by this process's
 *   clock never before it (AfterCommit.observe); timers within BUCKET_MS share a wake-up.
 * - Due timers are applied in deadline order by at most MAX_FIRING transactions at once,
 *   each taking its share of those due (up to MAX_BATCH): one alone at a light load, and
 *   under load batches that grow instead of the transactions. One statement locks a
 *   batch's instances and consumes their waits; each statement's round trip is what a
 *   firing costs most (a consumer's delivery adds its claim, inbox row and ack).
 * - A batch that fails is applied again one timer at a time, so one bad timer costs its
 *   neighbours a retry, never an effect; the one that fails is handed to its queue, whose
 *   consumers are woken and retry it by the queue's policy.
 */
export class HeldTimers {
  private readonly due = new Map<number, Due[]>();
  private readonly held = new Set<string>();
  private ready: Due[] = [];
  /** Buckets due within a millisecond, and whether a `turn` is waiting them out. */
  private readonly imminent = new Set<number>();
  private turning = false;
  /** Firing transactions under way. */
  private readonly firing = new Set<Promise<void>>();
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
    const held = performance.now(); // a transaction begun before AfterCommit.of: counted from now
    const headers = traceContextHeaders() ?? {};
    // The transaction's own data source: it sees the commit.
    const added = AfterCommit.of(tx.connection).add(
      tx,
      (begun = held) => this.at({ ...timer, definition, deadline: begun + delayMs, headers }),
      () => this.held.delete(timer.wait),
    );
    if (added) this.held.add(timer.wait);
    return added;
  }

  /** Stops holding timers: their messages are their queues' (deliverable since their deadlines). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.due.clear();
    this.imminent.clear();
    this.ready = [];
    this.held.clear();
    await Promise.all(this.firing);
  }

  private at(timer: Due): void {
    if (this.stopped || !this.held.has(timer.wait)) return;
    const bucket = Math.ceil(timer.deadline / BUCKET_MS) * BUCKET_MS;
    const list = this.due.get(bucket);
    if (list) return void list.push(timer);
    this.due.set(bucket, [timer]);
    this.arm(bucket);
  }

  /**
   * Node counts a timeout from its event loop's cached clock, so about half of them end up to
   * a millisecond before the deadline, and a timeout for the rest is rounded up to a whole
   * millisecond. The last fraction is waited out by turns of the event loop instead (one
   * `turn` for every bucket that close): W6 timer lateness p50 1.38–1.54 → 0.87–0.96 ms
   * (3 alternated pairs; 0.24 ms since deadlines come from the database's `now()`), for ~5%
   * of a core at 200 timers/s. A worker thread's alarm, tried instead, fired later
   * (bench/RESULTS.md).
   */
  private arm(bucket: number): void {
    const wait = bucket - performance.now();
    if (wait >= 1) return void setTimeout(() => this.fall(bucket), wait).unref();
    this.imminent.add(bucket);
    if (!this.turning) {
      this.turning = true;
      setImmediate(this.turn);
    }
  }

  /** One turn of the event loop: the imminent buckets now due fall, and the rest wait another. */
  private readonly turn = (): void => {
    const now = performance.now();
    for (const bucket of this.imminent) {
      if (bucket > now) continue;
      this.imminent.delete(bucket);
      this.fall(bucket);
    }
    this.turning = this.imminent.size > 0 && !this.stopped;
    if (this.turning) setImmediate(this.turn);
  };

  private fall(bucket: number): void {
    if (bucket > performance.now()) return this.arm(bucket);
    const list = this.due.get(bucket);
    this.due.delete(bucket);
    if (list) this.ready.push(...list);
    // Not in the context of the transition that armed the timer: a firing's span has its own trace.
    outsideTrace(() => this.pump());
  }

  /** Starts firing transactions while there is room, each with its share of the due timers. */
  private pump(): void {
    while (this.firing.size < MAX_FIRING && !this.stopped && this.ready.length > 0) {
      const firing: Promise<void> = this.fire(
        this.takeBatch(Math.ceil(this.ready.length / (MAX_FIRING - this.firing.size))),
      ).finally(() => {
        this.firing.delete(firing);
        this.pump();
      });
      this.firing.add(firing);
    }
  }

  /**
   * Up to `share` (at most MAX_BATCH) of the ready timers, in deadline order, of the first
   * one's workflow (a batch is one workflow queue's transaction, as a consumer's is) and one
   * per instance: a second timer of an instance (parallel states) waits for the next batch,
   * since the first changes the row the batch locked.
   */
  private takeBatch(share: number): Due[] {
    const batch: Due[] = [];
    const instances = new Set<string>();
    const rest: Due[] = [];
    const definition = this.ready[0]?.definition;
    for (const timer of this.ready) {
      const instance = `${timer.definition.name}\u0000${timer.key}`;
      const full = batch.length >= Math.min(MAX_BATCH, share);
      if (full || timer.definition !== definition || instances.has(instance)) rest.push(timer);
      else {
        instances.add(instance);
        batch.push(timer);
      }
    }
    this.ready = rest;
    return batch;
  }

  /**
   * One transaction for `batch` (one workflow's timers), traced and counted as a consumer's
   * exactly-once batch on that workflow's queue is: a transaction span linked to where each
   * timer was armed, a `process` span and a `handled` count per timer applied.
   */
  private async fire(batch: Due[]): Promise<void> {
    const queue = batch[0].definition.queue;
    const handled: number[] = [];
    const refused = await traceBatch(queue, batch.map(delivery), async () => {
      try {
        return await this.services.dataSource.transaction(async (tx) => {
          // One statement locks every instance and consumes each due timer's wait.
          const rows = await query(tx, LOCK_DUE_TIMERS_SQL, [
            batch.map((t) => t.definition.name),
            batch.map((t) => t.key),
            batch.map((t) => t.wait),
          ]);
          const locked = new Map(rows.map((row) => [row.fired_wait as string, row]));
          const answers: [Due, number | null][] = [];
          for (const timer of batch) {
            const row = locked.get(timer.wait);
            if (!row?.consumed_wait) {
              answers.push([timer, row ? Number(row.due_in_ms ?? 0) : null]);
              continue;
            }
            const envelope: WorkflowEnvelope = { key: timer.key, kind: 'timer', event: timer.event, wait: timer.wait };
            const started = performance.now();
            await traceHandler(
              queue,
              delivery(timer),
              () => this.engine.applyLocked(timer.definition, envelope, tx, row, timer.wait, timer.wait),
              true,
            );
            handled.push(secondsSince(started));
          }
          return answers;
        });
      } catch (error) {
        failActiveSpan(error);
        return null;
      }
    });
    if (!refused) {
      if (batch.length > 1) for (const timer of batch) await this.fire([timer]);
      else this.handOver(batch[0]);
      return;
    }
    for (const seconds of handled) record('handled', queue, 'ack', seconds);
    for (const timer of batch) this.held.delete(timer.wait);
    for (const [timer, dueInMs] of refused) {
      if (this.stopped) continue;
      // Its instance locked by a consumer's delivery (or gone): the queue's, whose consumers are woken.
      if (dueInMs === null) this.handOver(timer);
      // Not due yet by the database's clock: held for the rest of its time.
      else if (dueInMs > 0) {
        this.held.add(timer.wait);
        this.at({ ...timer, deadline: performance.now() + dueInMs });
      }
      // Else a consumer holds or delivered its message, or its wait is gone: waking
      // consumers for it would only have them race the timers still held.
    }
  }

  /** Failed here: its message's consumers are woken to retry it by the queue's policy. */
  private handOver(timer: Due): void {
    this.held.delete(timer.wait);
    this.wakeups.wake(timer.definition.queue);
  }
}

/** A held timer as the tracing of a delivery sees it. */
function delivery(timer: Due) {
  return { id: timer.wait, headers: timer.headers, deliveryCount: 1 };
}
