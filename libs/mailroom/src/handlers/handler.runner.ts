import type { Logger } from '@nestjs/common';
import type { MailroomServices } from '../services/mailroom.services';
import type { EntityManager } from 'typeorm';
import { LeaseLostError, NonRetryableError } from '../errors/mailroom.errors';
import { storableText } from '../errors/validate';
import { recordAllInInbox, recordInInbox } from '../inbox/inbox';
import { record, secondsSince } from '../observability/instruments';
import { failActiveSpan, traceBatch, traceHandler } from '../observability/tracing';
import type { ReceivedMessage } from '../message/message';
import type { AckBatcher } from './ack.batcher';
import { reportFailure } from './handler.events';
import type { ConsumerSpec } from './handler.options';
import { cancelRunningStatement, HandlerTimedOutError, withHandlerTimeout } from './handler.timeout';
import type { MessageContext } from './message-context';
import { settleWithRetries } from './settle.retry';
import type { NackOptions } from '../delivery/settlement';

export type MessageHandler = (body: unknown, context: MessageContext) => unknown;

/** How a runner settles: tries of each ack or nack, and whom to tell when one failed for good. */
export interface SettlePolicy {
  attempts: number;
  /**
   * An ack or nack failed, and not for a stale receipt: its message stays in the lease it
   * was claimed in, to come back when that lease expires (the session must stop renewing it).
   */
  failed(): void;
}

/** ctx.ack() inside an exactly-once handler: nothing to do, the commit acks. */
const settledByCommit = async (): Promise<void> => undefined;

/** ctx.nack() inside an exactly-once handler: roll the transaction back, then nack. */
class NackRequested extends Error {
  constructor(readonly options: NackOptions) {
    super('nack requested by the handler');
  }
}

/**
 * What happens to one delivery, by delivery mode: the handler's call, its context, and
 * how the outcome is settled (ack, nack with retry delay, dead-letter, or the exactly-once
 * transaction). The PushConsumer decides when; this decides how.
 */
export class HandlerRunner {
  constructor(
    private readonly services: MailroomServices,
    private readonly queue: string,
    private readonly spec: ConsumerSpec,
    private readonly handler: MessageHandler,
    private readonly acks: AckBatcher,
    private readonly logger: Logger,
    private readonly settling: SettlePolicy,
  ) {}

  handle(message: ReceivedMessage): Promise<void> {
    const started = performance.now();
    const run = traceHandler(this.queue, message, () =>
      this.spec.exactlyOnce ? this.runExactlyOnce(message) : this.runAtLeastOnce(message),
    );
    return run.then(
      () => record('handled', this.queue, 'ack', secondsSince(started)),
      async (error) => {
        record('handled', this.queue, 'error', secondsSince(started));
        await this.fail(message, error);
        await reportFailure(this.services, this.logger, this.queue, this.spec, message, error);
      },
    );
  }

  /** At-least-once (ack after the handler resolves) or at-most-once (already taken: nothing to settle). */
  private async runAtLeastOnce(message: ReceivedMessage): Promise<void> {
    let settled = this.spec.ackMode === 'auto';
    let timedOut = false;
    const settle = async (work: () => Promise<unknown>) => {
      // Past its timeout the delivery was failed for it: a late ack or nack must not count.
      if (timedOut) throw new LeaseLostError([message.receipt]);
      settled = true;
      await this.noticingFailure(work());
    };
    const context = this.context(
      message,
      () => settle(() => this.acks.ack(message.receipt)),
      (options = {}) => settle(() => this.nack(message, options)),
    );
    try {
      await withHandlerTimeout(() => this.handler(message.body, context), this.spec.timeoutMs);
    } catch (error) {
      timedOut = error instanceof HandlerTimedOutError;
      if (!settled) throw error;
      this.logger.error(`handler failed after settling message ${message.id}: ${(error as Error)?.message ?? error}`);
      return;
    }
    // The slot is free once the handler returned: the ack joins the next batched statement
    // without holding it (a slot waiting for its ack's commit capped throughput at
    // concurrency ÷ commit time). The consumer counts pending acks against prefetch.
    if (!settled) {
      this.settleWithRetries(() => this.acks.ack(message.receipt)).catch((error) =>
        this.logger.error(`ack of ${message.id} failed (it will be redelivered): ${(error as Error).message}`),
      );
    }
  }

  /**
   * Exactly-once: the inbox row, the handler's writes through `ctx.manager` and the
   * receipt-fenced ack commit together or not at all. A redelivery of a message already
   * processed finds the inbox row and is only acked. If the lease was lost meanwhile, the
   * ack fails, everything rolls back, and the new holder of the message does the work.
   */
  private async runExactlyOnce(message: ReceivedMessage): Promise<void> {
    let nackRequested: NackOptions | null = null;
    await this.services.dataSource.transaction(async (manager) => {
      const context = this.context(
        message,
        settledByCommit,
        async (options = {}) => {
          nackRequested = options;
        },
        manager,
      );
      if (await recordInInbox(manager, this.spec.consumer, message.id)) await this.call(message, context, manager);
      if (nackRequested) throw new NackRequested(nackRequested);
      await this.services.delivery.ack(this.queue, [message.receipt], { manager });
    });
  }

  /**
   * Exactly-once, several messages in one transaction: one inbox statement, the handlers
   * one after another on the same manager, one fenced ack, one commit. Any failure rolls
   * all of it back and each message is handled again in a transaction of its own, so one
   * bad message costs its neighbours a retry, never an effect. One span for the batch,
   * each handler's span its child.
   */
  handleTogether(messages: ReceivedMessage[]): Promise<void> {
    return traceBatch(this.queue, messages, () => this.runTogether(messages));
  }

  private async runTogether(messages: ReceivedMessage[]): Promise<void> {
    const seconds: number[] = [];
    try {
      await this.services.dataSource.transaction(async (manager) => {
        const fresh = await recordAllInInbox(
          manager,
          this.spec.consumer,
          messages.map((m) => m.id),
        );
        for (const message of messages) {
          if (!fresh.has(message.id)) continue;
          let nackRequested = false;
          const context = this.context(
            message,
            settledByCommit,
            async () => {
              nackRequested = true;
            },
            manager,
          );
          const started = performance.now();
          await traceHandler(this.queue, message, () => this.call(message, context, manager), true);
          seconds.push(secondsSince(started));
          if (nackRequested) throw new NackRequested({});
        }
        await this.services.delivery.ack(
          this.queue,
          messages.map((m) => m.receipt),
          { manager },
        );
      });
    } catch (error) {
      failActiveSpan(error);
      for (const message of messages) await this.handle(message);
      return;
    }
    for (const s of seconds) record('handled', this.queue, 'ack', s);
  }

  /**
   * An exactly-once handler's call in its transaction, bounded by the handler's timeout:
   * past it the transaction rolls back (the handler's writes and the inbox row with it),
   * and the delivery fails.
   */
  private call(message: ReceivedMessage, context: MessageContext, manager: EntityManager): Promise<unknown> {
    const cancel = () => cancelRunningStatement(manager);
    return withHandlerTimeout(() => this.handler(message.body, context), this.spec.timeoutMs, cancel);
  }

  /** A delivery's context, built in one literal (it is made for every message). */
  private context(
    message: ReceivedMessage,
    ack: MessageContext['ack'],
    nack: MessageContext['nack'],
    manager?: EntityManager,
  ): MessageContext {
    return {
      queue: this.queue,
      id: message.id,
      sequence: message.sequence,
      headers: message.headers,
      groupKey: message.groupKey,
      routingKey: message.routingKey,
      deliveryCount: message.deliveryCount,
      receipt: message.receipt,
      manager,
      ack,
      nack,
      extend: async (ms) => {
        await this.services.delivery.extend(this.queue, [message.receipt], ms);
      },
    };
  }

  /** A failed delivery is nacked: retried with a delay, or dead-lettered for NonRetryableError. */
  private async fail(message: ReceivedMessage, error: unknown): Promise<void> {
    if (this.spec.ackMode === 'auto') return; // already taken: nothing to settle
    const failure =
      error instanceof NackRequested
        ? error.options
        : {
            // A handler's error text is no request to refuse: a NUL or lone surrogate in it
            // would fail the nack (400), and the message would wait out its lease.
            reason: storableText(error instanceof Error ? error.message : String(error)),
            stack: (error as Error)?.stack,
            deadLetter: error instanceof NonRetryableError,
            deadLetterReason: error instanceof NonRetryableError ? error.deadLetterReason : undefined,
          };
    await this.settleWithRetries(() => this.nack(message, failure)).catch((e) =>
      this.logger.error(`nack of ${message.id} failed (it returns when its lease expires): ${e.message}`),
    );
  }

  private settleWithRetries(settle: () => Promise<unknown>): Promise<void> {
    return this.noticingFailure(settleWithRetries(settle, this.settling.attempts));
  }

  /** A settle that failed, not for a stale receipt (someone else has the message then), is reported. */
  private async noticingFailure<T>(settle: Promise<T>): Promise<T> {
    try {
      return await settle;
    } catch (error) {
      if (!(error instanceof LeaseLostError)) this.settling.failed();
      throw error;
    }
  }

  /** Without an explicit delay, the handler's retry policy decides, else the queue's. */
  private nack(message: ReceivedMessage, options: Omit<NackOptions, 'manager'>): Promise<unknown> {
    return this.services.delivery.nack(this.queue, [message.receipt], { ...options, retry: this.spec.retry });
  }
}
