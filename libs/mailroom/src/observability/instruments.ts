/**
 * The library's measuring points. Hot paths call these unconditionally; they cost a loop
 * over zero observers until a MailroomMetrics (or anything else) attaches. Kept free of
 * imports so every layer may call it without breaking the one-way layering.
 */
export interface MailroomObserver {
  /** One send statement committed: `stored` new messages, `seconds` statement latency. */
  sent?(queue: string, stored: number, seconds: number): void;
  /** One publish statement: `messages` published to `topic`, `seconds` statement latency. */
  published?(topic: string, messages: number, seconds: number): void;
  /**
   * One claim statement (or an at-most-once take): the delivery counts of what it
   * delivered, `seconds` statement latency.
   */
  claimed?(queue: string, deliveryCounts: number[], seconds: number): void;
  acked?(queue: string, count: number): void;
  /** Nacked deliveries, `retried` of them to be delivered again (the rest failed for good: deadLettered). */
  nacked?(queue: string, count: number, retried: number): void;
  /**
   * Messages that failed for good, by reason (a nack, the lease reaper, the janitor): moved
   * to the DLQ, or, in a queue without one, left there exhausted.
   */
  deadLettered?(queue: string, reason: string, count: number): void;
  /** Messages the lease reaper returned from expired leases, to be delivered again. */
  leaseExpired?(queue: string, returned: number): void;
  /** Messages whose time-to-live passed, deleted by the janitor (no dead-lettering of expired ones). */
  expiredDropped?(queue: string, count: number): void;
  /** A handler call ended: `outcome` is 'ack' or 'error'. */
  handled?(queue: string, outcome: 'ack' | 'error', seconds: number): void;
  /** A receive started (+1) or stopped (−1) waiting for messages. */
  waiting?(queue: string, delta: 1 | -1): void;
  /** A relay batch to an outbox destination failed. */
  relayFailed?(destination: string): void;
  /** A workflow instance took a transition. */
  transitioned?(workflow: string): void;
  /**
   * A singleton chore (advisory lock `key`: reaper, janitor, an outbox bucket) ran on this
   * node and committed; it held the lock from before `startedAt` to after `endedAt` (epoch ms).
   */
  choreRan?(key: number, startedAt: number, endedAt: number): void;
}

/** Per-queue counts as the chores' statements return them (JSON rows). */
export interface QueueCount {
  queue: string;
  reason?: string;
  n: number;
}

const observers = new Set<MailroomObserver>();

/** Attaches `observer` to every client in this process; the returned function detaches it. */
export function observe(observer: MailroomObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

type Event = keyof MailroomObserver;
type Args<E extends Event> = Parameters<NonNullable<MailroomObserver[E]>>;

/** Tells every observer; an observer that throws must not fail the send or claim it measures. */
export function record<E extends Event>(event: E, ...args: Args<E>): void {
  for (const observer of observers) {
    try {
      (observer[event] as ((...a: Args<E>) => void) | undefined)?.(...args);
    } catch {
      // a metrics bug is not the message's problem
    }
  }
}

/** Seconds since `started` (a performance.now() reading). */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}
