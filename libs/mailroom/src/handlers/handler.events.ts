import type { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { MailroomServices } from '../services/mailroom.services';
import type { ReceivedMessage } from '../message/message';
import type { ConsumerSpec } from './handler.options';

/** One failed delivery of a message to an `@OnMessage` / `@OnTopic` handler. */
export interface HandlerFailure {
  queue: string;
  consumer: string;
  messageId: string;
  /** The delivery that failed: its `deliveryCount` (1 for the first). */
  attempt: number;
  /** What the handler threw. */
  error: unknown;
  /**
   * `retry`: nacked, delivered again after the retry delay (or kept as exhausted when the
   * queue has no DLQ); `dead-lettered`: moved to the queue's DLQ by this failure;
   * `lost`: an at-most-once delivery, already taken from the queue.
   */
  outcome: 'retry' | 'dead-lettered' | 'lost';
}

export interface MailroomEventMap {
  /** Every failed delivery, after it was settled. */
  failed: [HandlerFailure];
  /** A failed delivery that moved the message to its dead-letter queue. */
  'dead-lettered': [HandlerFailure];
}

export type MailroomEventName = keyof MailroomEventMap;

/**
 * Handler failures as events: inject `MailroomEvents` and `.on('failed', ...)`, or
 * decorate a provider method with `@OnMailroomEvent('failed')`. A listener that throws
 * is logged; it never changes what happens to the message.
 */
export class MailroomEvents extends EventEmitter<MailroomEventMap> {}

const emitters = new WeakMap<MailroomServices, MailroomEvents>();

/** The events of one client's handlers (one emitter per services, as there is one per app). */
export function mailroomEvents(services: MailroomServices): MailroomEvents {
  let events = emitters.get(services);
  if (!events) emitters.set(services, (events = new MailroomEvents()));
  return events;
}

/** Failure lines per consumer and window; a burst of poison messages must not flood the log. */
const LOG_LIMIT = 10;
const LOG_WINDOW_MS = 10_000;

interface LogWindow {
  startedAt: number;
  logged: number;
  suppressed: number;
}

const windows = new WeakMap<Logger, LogWindow>();

/**
 * The one place a handler failure is reported (handler.runner.ts calls it once the
 * delivery is settled): a rate-limited log line with queue, message id, attempt and
 * error, then the events.
 */
export async function reportFailure(
  services: MailroomServices,
  logger: Logger,
  queue: string,
  spec: ConsumerSpec,
  message: ReceivedMessage,
  error: unknown,
): Promise<void> {
  const outcome = spec.ackMode === 'auto' ? 'lost' : await deadLettered(services, queue, message.id);
  const event: HandlerFailure = {
    queue,
    consumer: spec.consumer,
    messageId: message.id,
    attempt: message.deliveryCount,
    error,
    outcome,
  };
  log(logger, event);
  const events = mailroomEvents(services);
  emit(events, logger, 'failed', event);
  if (outcome === 'dead-lettered') emit(events, logger, 'dead-lettered', event);
}

async function deadLettered(services: MailroomServices, queue: string, id: string): Promise<HandlerFailure['outcome']> {
  // Right after our nack, the message is in the DLQ only if this failure put it there.
  const buried = await services.deadLetters.get(queue, id).catch(() => null);
  return buried ? 'dead-lettered' : 'retry';
}

function log(logger: Logger, event: HandlerFailure): void {
  const now = Date.now();
  let window = windows.get(logger);
  if (!window || now - window.startedAt >= LOG_WINDOW_MS) {
    if (window?.suppressed) logger.warn(`${window.suppressed} more handler failure(s) not logged in the last window`);
    windows.set(logger, (window = { startedAt: now, logged: 0, suppressed: 0 }));
  }
  if (window.logged >= LOG_LIMIT) {
    window.suppressed += 1;
    return;
  }
  window.logged += 1;
  const error = event.error instanceof Error ? event.error : undefined;
  const what = { retry: 'will be retried', 'dead-lettered': 'dead-lettered', lost: 'at-most-once: not retried' };
  logger.error(
    `handler failed on queue "${event.queue}", message ${event.messageId}, attempt ${event.attempt} ` +
      `(${what[event.outcome]}): ${error?.message ?? String(event.error)}`,
    error?.stack,
  );
}

function emit(events: MailroomEvents, logger: Logger, name: MailroomEventName, event: HandlerFailure): void {
  for (const listener of events.listeners(name)) {
    try {
      const result = (listener as (e: HandlerFailure) => unknown)(event);
      if (result instanceof Promise) result.catch((e) => logger.error(`"${name}" listener failed: ${e}`));
    } catch (e) {
      logger.error(`"${name}" listener failed: ${e}`);
    }
  }
}
