import type { EntityManager } from 'typeorm';
import { query } from '../database/transaction';
import { MESSAGE_CHANNEL } from '../database/channels';
import type { MailroomServices } from '../services/mailroom.services';
import { AfterCommit } from './workflow.after-commit';
import type { WorkflowDefinition } from './workflow.definition';
import type { WorkflowEngine } from './workflow.engine';
import type { WorkflowEnvelope } from './workflow.kind';
import { TimerNotDueError } from './workflow.errors';

/** A timer armed by a transition of this process: what applying it takes. */
export interface ArmedTimer {
  key: string;
  event: { type: string };
  /** The wait id, which is also the delayed message's id. */
  wait: string;
}

/** How long (ms) DatabaseClock keeps a reading before it follows drift with fresh ones. */
const CLOCK_WINDOW_MS = 10_000;

/**
 * The database's clock as this process sees it. A statement that read clock_timestamp()
 * and answered at local time t says the offset is at most t minus that reading (the
 * answer's travel only adds), so the smallest such difference over recent answers, added
 * to a database time, gives a local time that is never before it; the quickest answers
 * make it close. Readings older than two windows are dropped, so drift is followed.
 */
export class DatabaseClock {
  private current = Infinity;
  private previous = Infinity;
  private windowEnds = -Infinity;

  /** A statement read clock_timestamp() as `clockMs` (epoch ms) and answered at `receivedAt` (performance.now()). */
  sample(clockMs: number, receivedAt: number): void {
    const offset = receivedAt - clockMs;
    if (receivedAt >= this.windowEnds) {
      this.previous = this.current;
      this.current = offset;
      this.windowEnds = receivedAt + CLOCK_WINDOW_MS;
    } else this.current = Math.min(this.current, offset);
  }

  /** The local time (performance.now()) by which the database time `databaseMs` (epoch ms) has certainly passed. */
  toLocal(databaseMs: number): number {
    return databaseMs + Math.min(this.current, this.previous);
  }
}

/** How long (ms) a held timer's message stays invisible to the queue past its deadline. */
export const TIMER_GRACE_MS = 1_000;
/** How far ahead (ms) a timer is held at all. */
const HORIZON_MS = 120_000;
/** The most timers this process holds; beyond it a timer is its queue's alone. */
const MAX_HELD = 10_000;
/** The most held timers this process applies at once; the next due wait their turn. */
const MAX_FIRING = 10;

/**
 * Held timers handed to their queue: deliverable from their deadline (the wait's due_at),
 * unless a consumer holds them or they are no longer awaited; the consumers are woken.
 */
const RELEASE_SQL = `
WITH released AS (
  UPDATE mailroom_message m SET visible_at = w.due_at
    FROM mailroom_workflow_wait w
   WHERE m.id = ANY($1::uuid[]) AND w.message_id = m.id AND m.lease_id IS NULL AND m.visible_at > w.due_at
  RETURNING m.queue_id
)
SELECT pg_notify('${MESSAGE_CHANNEL}', q.queue_id::text) FROM (SELECT DISTINCT queue_id FROM released) q`;

interface Held {
  definition: WorkflowDefinition;
  timer: ArmedTimer;
}

/**
 * Timers fire in the process whose transition armed them, at their deadline, instead of
 * at a consumer's next poll: a hint for speed, never what a guarantee rests on. Each
 * timer is still a delayed message committed with that transition. One due within
 * HORIZON_MS (while fewer than MAX_HELD are held: a waiting instance costs no memory) is
 * *held*: its message is sent invisible for TIMER_GRACE_MS past the deadline, and at the
 * deadline this process applies it in a transaction of its own, which deletes the
 * message. The database has the last word: the wait must be due by its clock (`due_at`)
 * and its message held by no consumer, else nothing changes (one not due yet is held for
 * the rest of its time by the database's count). A held timer this process
 * cannot apply (the transition threw, it waited its turn past the grace and a consumer
 * took it, shutdown) is released to its queue, deliverable from its deadline; if the
 * process dies, the queue delivers it TIMER_GRACE_MS after the deadline.
 *
 * The deadline is counted from the arming transaction's start read through DatabaseClock,
 * a moment by this process's monotonic clock at which it had certainly begun, so a firing
 * is not early; the database's check stands behind that if the clocks drift.
 */
export class ArmedTimers {
  /** The clock a held timer's deadline is read through (every transition's history statement samples it). */
  readonly clock = new DatabaseClock();
  private readonly due = new Map<number, Held[]>();
  private readonly held = new Set<string>();
  /** Due, in deadline order, waiting for one of MAX_FIRING transactions. */
  private readonly ready: Held[] = [];
  private firing = 0;
  private stopped = false;

  constructor(
    private readonly services: MailroomServices,
    private readonly engine: WorkflowEngine,
  ) {}

  /**
   * Holds `timer` of `definition`, armed by `tx`, to fire `delayMs` after that transaction's
   * start (`begun()`: when, by performance.now(), it had certainly begun). Returns how much
   * later than the deadline its message is to become visible: TIMER_GRACE_MS, or 0 when it
   * is not held.
   */
  hold(
    tx: EntityManager,
    definition: WorkflowDefinition,
    timer: ArmedTimer,
    delayMs: number,
    begun: () => number | undefined,
  ): number {
    if (this.stopped || delayMs > HORIZON_MS || this.held.size >= MAX_HELD) return 0;
    const committed = AfterCommit.of(this.services.dataSource).add(
      tx,
      () => this.at((begun() ?? performance.now()) + delayMs, { definition, timer }),
      () => this.held.delete(timer.wait),
    );
    if (!committed) return 0;
    this.held.add(timer.wait);
    return TIMER_GRACE_MS;
  }

  /** Stops holding timers; those held are released to their queues. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.due.clear();
    this.ready.length = 0;
    await this.release([...this.held]);
  }

  private at(deadline: number, held: Held): void {
    if (this.stopped) return;
    const ms = Math.ceil(deadline * 10) / 10; // timers within 0.1 ms of each other share a wake-up
    const list = this.due.get(ms);
    if (list) return void list.push(held);
    this.due.set(ms, [held]);
    this.arm(ms);
  }

  private arm(ms: number): void {
    setTimeout(() => this.fall(ms), Math.max(0, ms - performance.now() - 1)).unref();
  }

  private fall(ms: number): void {
    // Timeouts count whole milliseconds: the last one is waited out turn by turn of the event loop.
    const rest = ms - performance.now();
    if (rest > 1) return this.arm(ms);
    if (rest > 0) return void setImmediate(() => this.fall(ms));
    const list = this.due.get(ms) ?? [];
    this.due.delete(ms);
    this.ready.push(...list);
    this.pump();
  }

  /** Applies due timers in deadline order, MAX_FIRING at a time. */
  private pump(): void {
    while (this.firing < MAX_FIRING && this.ready.length > 0) {
      const { definition, timer } = this.ready.shift()!;
      if (!this.stopped && this.held.has(timer.wait)) void this.fire(definition, timer);
    }
  }

  /** Applies the timer here; when the database says no, or anything fails, its queue does. */
  private async fire(definition: WorkflowDefinition, timer: ArmedTimer): Promise<void> {
    this.firing += 1;
    const envelope: WorkflowEnvelope = { key: timer.key, kind: 'timer', event: timer.event, wait: timer.wait };
    try {
      await this.services.dataSource.transaction((tx) =>
        this.engine.deliver(definition, envelope, tx, timer.wait, timer.wait, true),
      );
      this.held.delete(timer.wait);
    } catch (error) {
      // Not due yet by the database's clock (this one runs ahead): held for the rest.
      if (error instanceof TimerNotDueError && error.dueInMs > 0)
        this.at(performance.now() + error.dueInMs, { definition, timer });
      else await this.release([timer.wait]);
    } finally {
      this.firing -= 1;
      this.pump();
    }
  }

  private async release(waits: string[]): Promise<void> {
    for (const wait of waits) this.held.delete(wait);
    if (waits.length === 0 || !this.services.dataSource.isInitialized) return;
    // If this fails, the messages become visible TIMER_GRACE_MS after their deadlines.
    await query(this.services.dataSource.manager, RELEASE_SQL, [waits]).catch(() => undefined);
  }
}
