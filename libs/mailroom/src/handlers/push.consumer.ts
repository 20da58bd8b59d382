import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { MailroomServices } from '../services/mailroom.services';
import { pause } from '../database/pause';
import { LeaseLostError } from '../errors/mailroom.errors';
import type { ReceivedMessage } from '../message/message';
import { AckBatcher } from './ack.batcher';
import type { ConsumerSpec } from './handler.options';
import { HandlerRunner, type MessageHandler } from './handler.runner';
import { PrefetchWindow } from './prefetch.window';
import { SETTLE_ATTEMPTS } from './settle.retry';

export type { MessageHandler } from './handler.runner';

const LONG_POLL_MS = 20_000;
const BACKOFF_MS = 1_000;
/** The most receipts one claim acks (a receive's `ack` takes up to 1,000). */
const MAX_CARRIED_ACKS = 1_000;
/** The longest a finished handler's ack waits to be carried by a claim. */
const ACK_HOLD_MS = 5;

/** Timings a test may shorten or stretch; the defaults are the constants above. */
export interface PushConsumerTimings {
  /** A claim's long poll (at most the 20 s a receive allows), and the wait for a slot when the window is full. */
  longPollMs: number;
  /** Tries of each ack and nack (settle.retry.ts). */
  settleAttempts: number;
  /** The longest a finished handler's ack waits to be carried by a claim, or to go with others. */
  ackHoldMs: number;
}

/**
 * Runs one handler against one queue: claims (long-polling, woken by NOTIFY), keeps at
 * most `concurrency` calls running and at most the prefetch window's messages held
 * (PrefetchWindow: fixed when `prefetch` is given, else adaptive), acks on success, nacks
 * with the retry delay on failure, and extends the lease while handlers run. Stopping
 * stops claiming, waits for running calls up to the timeout, and releases what never
 * started without spending an attempt.
 */
export class PushConsumer {
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly acks: AckBatcher;
  private readonly runner: HandlerRunner;
  /** Messages held at most (at-least-once and exactly-once; at-most-once holds only what runs). */
  private readonly window: PrefetchWindow;
  private readonly held = new Map<string, ReceivedMessage>(); // receipt → running or waiting to run
  private buffer: ReceivedMessage[] = [];
  private running = 0;
  /**
   * The last claim asked for at least a transaction's batch and came back full: the queue
   * may hold more than this consumer does. (A full answer to a small ask, the few places
   * left in the window, says little about the queue.)
   */
  private backlog = false;
  /** The last claim came back short: it saw every message it could take, and the queue has no more for us. */
  private drained = false;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();
  private extender: NodeJS.Timeout | null = null;
  private slotFreed: (() => void) | null = null;
  /** This instance's session: one lease of its own, renewed by its claims and its heartbeat. */
  private readonly session = randomUUID();
  private readonly timings: PushConsumerTimings;

  constructor(
    private readonly services: MailroomServices,
    readonly queue: string,
    private readonly spec: ConsumerSpec,
    private readonly handler: MessageHandler,
    timings: Partial<PushConsumerTimings> = {},
  ) {
    this.timings = { longPollMs: LONG_POLL_MS, settleAttempts: SETTLE_ATTEMPTS, ackHoldMs: ACK_HOLD_MS, ...timings };
    this.logger = new Logger(`Mailroom:${spec.consumer}`);
    this.acks = new AckBatcher(
      (receipts) => services.delivery.ack(queue, receipts),
      () => this.slotFreed?.(),
    );
    this.runner = new HandlerRunner(services, queue, spec, handler, this.acks, this.logger, {
      attempts: this.timings.settleAttempts,
      // The failed settle's message sits in the session's lease, which our claims would renew
      // for as long as we live: they go into a new lease from now on, and the old one expires
      // once it holds nothing we run (the heartbeat extends running handlers' receipts).
      failed: () => services.delivery.retireLease(queue, spec.consumer, this.session),
    });
    this.window = new PrefetchWindow(spec.prefetch, spec.prefetchMax);
  }

  start(leaseMs: number): void {
    this.loop = this.claimLoop();
    if (this.spec.ackMode === 'manual') {
      this.extender = setInterval(() => void this.extendLeases(leaseMs), Math.max(50, Math.floor(leaseMs / 3)));
      this.extender.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    this.slotFreed?.(); // a claim loop waiting for room must not wait out its long poll
    if (this.extender) clearInterval(this.extender);
    await this.loop;
    const deadline = Date.now() + this.spec.shutdownTimeoutMs;
    while (this.running > 0 && Date.now() < deadline) await this.slotOrAck(Math.min(100, deadline - Date.now()));
    await this.acks.flush();
    const started = [...this.held.values()].filter((m) => !this.buffer.includes(m));
    if (started.length > 0) {
      // Still running at the deadline: they did start, so this counts as a failed attempt.
      await this.services.delivery
        .nack(
          this.queue,
          started.map((m) => m.receipt),
          { reason: 'consumer shut down while the handler ran' },
        )
        .catch(() => undefined);
    }
    if (this.spec.ackMode === 'manual')
      await this.services.delivery.release(this.queue, this.spec.consumer, this.session);
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.claimOnce();
      } catch (error) {
        if (this.stopping) break;
        this.logger.error(`claiming from "${this.queue}" failed, retrying: ${(error as Error).message}`);
        await pause(BACKOFF_MS, this.abort.signal); // stop() does not wait it out
      }
    }
    this.acks.collector = null; // stop() flushes what is left
  }

  /**
   * One claim, carrying the acks that are pending: with fast handlers, claim-ack-claim-ack
   * becomes ack-and-claim, half the statements and commits (W3 @OnMessage ~33k → ~38k
   * msg/s). Acks are carried once nothing is left to start, or there is room anyway, so one
   * statement acks a whole batch and claims the next. They wait for that at most
   * `ackHoldMs` (a handler may hang, or await its ctx.ack()), and go alone when there would
   * be no room to claim. A claim that carries acks does not wait for messages: the acks'
   * answer would wait with it. So once the queue is drained, the acks wait out their hold
   * beside a long poll instead: messages that come one at a time are claimed by a claim
   * that carries nothing (their latency is a bare claim's), and their acks go together,
   * one statement for all that finished within the hold.
   */
  private async claimOnce(): Promise<void> {
    this.acks.collector = this.spec.ackMode === 'manual' ? () => undefined : null;
    const room = this.room();
    const { pending } = this.acks;
    const holdLeft = this.timings.ackHoldMs - this.acks.pendingForMs();
    // Drained: the next claim would find nothing, so acks that may still wait do so beside a long poll.
    const idle = this.drained && this.buffer.length === 0 && holdLeft > 0;
    if (room > 0 && (pending === 0 || idle)) {
      await this.longPoll(room);
    } else if (pending > 0 && (room > 0 || this.buffer.length === 0 || holdLeft <= 0)) {
      const carried = this.acks.take(MAX_CARRIED_ACKS)!;
      const max = Math.min(100, room + carried.count);
      if (max <= 0) return carried.ackWith((receipts) => this.services.delivery.ack(this.queue, receipts));
      let claimed: ReceivedMessage[] = [];
      await carried.ackWith(async (receipts) => {
        claimed = await this.claim(max, 0, receipts);
      });
      this.accept(claimed, max);
    } else {
      await this.slotOrAck(pending > 0 ? holdLeft : this.timings.longPollMs);
    }
  }

  /**
   * Waits for messages. Acks pending or to come settle on their own: at once, or, while the
   * queue is drained, together once the oldest has waited `ackHoldMs`.
   */
  private async longPoll(room: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const release = () => {
      this.acks.collector = null;
      void this.acks.flush();
    };
    if (this.drained && this.spec.ackMode === 'manual') {
      const hold = () => (timer ??= setTimeout(release, this.timings.ackHoldMs - this.acks.pendingForMs()));
      this.acks.collector = hold;
      if (this.acks.pending > 0) hold();
    } else release();
    try {
      this.accept(await this.claim(room, Math.min(this.timings.longPollMs, LONG_POLL_MS)), room);
    } finally {
      clearTimeout(timer);
    }
  }

  /** How many more messages may be held now (at most 100, the most one claim takes). */
  private room(): number {
    // At-most-once takes only what it can start now: a buffered message would already be gone from the queue.
    const limit = this.spec.ackMode === 'auto' ? this.spec.concurrency : this.window.size;
    // `held` counts messages, running or waiting (`running` counts calls: a transaction batch is one).
    return Math.min(100, limit - this.held.size - this.acks.outstanding);
  }

  private claim(max: number, waitMs: number, ack?: string[]): Promise<ReceivedMessage[]> {
    const request = { consumer: this.spec.consumer, session: this.session, max, waitMs, signal: this.abort.signal };
    return this.spec.ackMode === 'auto'
      ? this.services.delivery.claim(this.queue, request, true)
      : this.services.delivery.claim(this.queue, { ...request, leaseMs: this.spec.leaseMs, ack }, false);
  }

  /** Takes in a claim's answer (it asked for `asked`), after resizing the window by it. */
  private accept(messages: ReceivedMessage[], asked: number): void {
    const idleSlots = this.buffer.length === 0 && this.running < this.spec.concurrency;
    this.window.claimed(asked, messages.length, idleSlots, this.buffer.length > 0);
    this.backlog = messages.length === asked && asked >= this.spec.transactionBatch;
    this.drained = messages.length < asked;
    for (const m of messages) this.held.set(m.receipt || `${m.sequence}`, m);
    this.buffer.push(...messages);
    this.dispatch();
  }

  /** Waits until a handler finishes or (while the claim loop collects acks) an ack is pending, or `ms`. */
  private slotOrAck(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.slotFreed = null;
        if (this.acks.collector) this.acks.collector = () => undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.slotFreed = finish;
      if (this.acks.collector) this.acks.collector = finish;
    });
  }

  /**
   * Each free slot takes one message or, exactly-once, several in one transaction (up to a
   * transaction's batch; a lone message is not held back for company):
   * - while the queue has more than this consumer holds (`backlog`), a whole batch: the
   *   next claim, a round trip away, brings the other free slots theirs, and
   *   each transaction's four statements are shared by as many messages as they may carry
   *   (W5: batches of ~19 when spread, ~50 so; bench/RESULTS.md);
   * - otherwise the messages held are spread over the free slots, so a short burst of slow
   *   handlers runs side by side instead of one after another in the first slot.
   */
  private dispatch(): void {
    while (!this.stopping && this.running < this.spec.concurrency && this.buffer.length > 0) {
      const share = this.backlog
        ? this.buffer.length
        : Math.ceil(this.buffer.length / (this.spec.concurrency - this.running));
      const group = this.buffer.splice(0, Math.min(this.spec.transactionBatch, share));
      this.running += 1;
      const run = group.length === 1 ? this.runner.handle(group[0]) : this.runner.handleTogether(group);
      void run.finally(() => {
        for (const message of group) this.held.delete(message.receipt || `${message.sequence}`);
        this.running -= 1;
        this.slotFreed?.();
        this.dispatch();
      });
    }
  }

  /** Keeps the session's lease alive while messages are held and no claim is renewing it. */
  private async extendLeases(leaseMs: number): Promise<void> {
    let receipts = [...this.held.keys()];
    for (let attempt = 0; attempt < 2 && receipts.length > 0 && !this.stopping; attempt += 1) {
      try {
        await this.services.delivery.extend(this.queue, receipts, leaseMs);
        return;
      } catch (error) {
        // Settled since we looked (or lost): extend the rest.
        if (!(error instanceof LeaseLostError)) return;
        const stale = new Set(error.receipts);
        receipts = receipts.filter((r) => !stale.has(r));
      }
    }
  }
}
