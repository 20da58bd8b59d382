import { Logger } from '@nestjs/common';
import type { MailroomClient } from '../client/mailroom.client';
import { LeaseLostError, NonRetryableError } from '../errors/mailroom.errors';
import type { ReceivedMessage } from '../message/message';
import { recordInInbox } from '../inbox/inbox';
import { AckBatcher } from './ack.batcher';
import type { NackOptions } from './settlement';
import type { ConsumerSpec } from './handler.options';
import type { MessageContext } from './message-context';
import { retryDelay } from './retry.policy';

export type MessageHandler = (body: unknown, context: MessageContext) => unknown;

/** ctx.nack() inside an exactly-once handler: roll the transaction back, then nack. */
class NackRequested extends Error {
  constructor(readonly options: NackOptions) {
    super('nack requested by the handler');
  }
}

const LONG_POLL_MS = 20_000;
const BACKOFF_MS = 1_000;

/**
 * Runs one handler against one queue: claims (long-polling, woken by NOTIFY), keeps at
 * most `concurrency` calls running and `prefetch` messages held, acks on success, nacks
 * with the retry delay on failure, and extends the lease while handlers run. Stopping
 * stops claiming, waits for running calls up to the timeout, and releases what never
 * started without spending an attempt.
 */
export class PushConsumer {
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly acks: AckBatcher;
  private readonly held = new Map<string, ReceivedMessage>(); // receipt → running or waiting to run
  private buffer: ReceivedMessage[] = [];
  private running = 0;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();
  private extender: NodeJS.Timeout | null = null;
  private slotFreed: (() => void) | null = null;

  constructor(
    private readonly client: MailroomClient,
    readonly queue: string,
    private readonly spec: ConsumerSpec,
    private readonly handler: MessageHandler,
  ) {
    this.logger = new Logger(`Mailroom:${spec.consumer}`);
    this.acks = new AckBatcher((receipts) => client.ack(queue, receipts));
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
    if (this.extender) clearInterval(this.extender);
    await this.loop;
    const deadline = Date.now() + this.spec.shutdownTimeoutMs;
    while (this.running > 0 && Date.now() < deadline) await this.nextSlot(Math.min(100, deadline - Date.now()));
    await this.acks.flush();
    const started = [...this.held.values()].filter((m) => !this.buffer.includes(m));
    if (started.length > 0) {
      // Still running at the deadline: they did start, so this counts as a failed attempt.
      await this.client
        .nack(
          this.queue,
          started.map((m) => m.receipt),
          { reason: 'consumer shut down while the handler ran' },
        )
        .catch(() => undefined);
    }
    if (this.spec.ackMode === 'manual') await this.client.release(this.queue, this.spec.consumer);
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopping) {
      // At-most-once takes only what it can start now: a buffered message would already be gone from the queue.
      const limit = this.spec.ackMode === 'auto' ? this.spec.concurrency : this.spec.prefetch;
      const room = Math.min(100, limit - this.running - this.buffer.length);
      if (room <= 0) {
        await this.nextSlot(LONG_POLL_MS);
        continue;
      }
      try {
        const request = { consumer: this.spec.consumer, max: room, waitMs: LONG_POLL_MS, signal: this.abort.signal };
        const messages =
          this.spec.ackMode === 'auto'
            ? await this.client.take(this.queue, request)
            : await this.client.receive(this.queue, { ...request, leaseMs: this.spec.leaseMs });
        for (const m of messages) this.held.set(m.receipt || `${m.sequence}`, m);
        this.buffer.push(...messages);
        this.dispatch();
      } catch (error) {
        if (this.stopping) break;
        this.logger.error(`claiming from "${this.queue}" failed, retrying: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, BACKOFF_MS));
      }
    }
  }

  private dispatch(): void {
    while (!this.stopping && this.running < this.spec.concurrency && this.buffer.length > 0) {
      const message = this.buffer.shift()!;
      this.running += 1;
      void this.handle(message).finally(() => {
        this.held.delete(message.receipt || `${message.sequence}`);
        this.running -= 1;
        this.slotFreed?.();
        this.dispatch();
      });
    }
  }

  private handle(message: ReceivedMessage): Promise<void> {
    const run = this.spec.exactlyOnce ? this.runExactlyOnce(message) : this.runAtLeastOnce(message);
    return run.catch((error) => this.fail(message, error));
  }

  /** At-least-once (ack after the handler resolves) or at-most-once (already taken: nothing to settle). */
  private async runAtLeastOnce(message: ReceivedMessage): Promise<void> {
    let settled = this.spec.ackMode === 'auto';
    const settle = async (work: () => Promise<unknown>) => {
      settled = true;
      await work();
    };
    const context: MessageContext = {
      ...this.describe(message),
      ack: () => settle(() => this.acks.ack(message.receipt)),
      nack: (options = {}) => settle(() => this.nack(message, options)),
    };
    try {
      await this.handler(message.body, context);
    } catch (error) {
      if (!settled) throw error;
      this.logger.error(`handler failed after settling message ${message.id}: ${(error as Error)?.message ?? error}`);
      return;
    }
    if (!settled) await this.acks.ack(message.receipt);
  }

  /**
   * Exactly-once: the inbox row, the handler's writes through `ctx.manager` and the
   * receipt-fenced ack commit together or not at all. A redelivery of a message already
   * processed finds the inbox row and is only acked. If the lease was lost meanwhile, the
   * ack fails, everything rolls back, and the new holder of the message does the work.
   */
  private async runExactlyOnce(message: ReceivedMessage): Promise<void> {
    let nackRequested: NackOptions | null = null;
    await this.client.dataSource.transaction(async (manager) => {
      const context: MessageContext = {
        ...this.describe(message),
        manager,
        ack: async () => undefined, // the commit acks
        nack: async (options = {}) => {
          nackRequested = options;
        },
      };
      if (await recordInInbox(manager, this.spec.consumer, message.id)) await this.handler(message.body, context);
      if (nackRequested) throw new NackRequested(nackRequested);
      await this.client.ack(this.queue, [message.receipt], { manager });
    });
  }

  private describe(message: ReceivedMessage): Omit<MessageContext, 'ack' | 'nack'> {
    return {
      queue: this.queue,
      id: message.id,
      sequence: message.sequence,
      headers: message.headers,
      groupKey: message.groupKey,
      routingKey: message.routingKey,
      deliveryCount: message.deliveryCount,
      receipt: message.receipt,
      extend: async (ms) => {
        await this.client.extend(this.queue, [message.receipt], ms);
      },
    };
  }

  /** A failed delivery is nacked: retried with a delay, or dead-lettered for NonRetryableError. */
  private async fail(message: ReceivedMessage, error: unknown): Promise<void> {
    if (this.spec.ackMode === 'auto') {
      this.logger.error(
        `handler failed on message ${message.id} (at-most-once: not retried): ${(error as Error)?.message}`,
      );
      return;
    }
    const failure =
      error instanceof NackRequested
        ? error.options
        : {
            reason: error instanceof Error ? error.message : String(error),
            stack: (error as Error)?.stack,
            deadLetter: error instanceof NonRetryableError,
          };
    await this.nack(message, failure).catch((e) =>
      this.logger.error(`nack of ${message.id} failed (it returns when its lease expires): ${e.message}`),
    );
  }

  /** Without an explicit delay, the handler's retry policy decides, else the queue's. */
  private nack(message: ReceivedMessage, options: Omit<NackOptions, 'manager'>): Promise<unknown> {
    const policy = this.spec.retry;
    const delayMs = options.delayMs ?? (policy ? retryDelay(policy, message.deliveryCount) : undefined);
    return this.client.nack(this.queue, [message.receipt], { ...options, delayMs });
  }

  /** Keeps the session's lease alive while messages are held and no claim is renewing it. */
  private async extendLeases(leaseMs: number): Promise<void> {
    let receipts = [...this.held.keys()];
    for (let attempt = 0; attempt < 2 && receipts.length > 0 && !this.stopping; attempt += 1) {
      try {
        await this.client.extend(this.queue, receipts, leaseMs);
        return;
      } catch (error) {
        // Settled since we looked (or lost): extend the rest.
        if (!(error instanceof LeaseLostError)) return;
        const stale = new Set(error.receipts);
        receipts = receipts.filter((r) => !stale.has(r));
      }
    }
  }

  private nextSlot(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.slotFreed = done;
    });
  }
}
