import { InvalidRequestError } from '../errors/mailroom.errors';
import { assertInteger, assertName } from '../errors/validate';
import { routingPattern } from '../topic/routing-key';
import { resolveRetryPolicy, type RetryPolicy } from '../queue/retry.policy';

export type AckMode = 'manual' | 'auto';
export type DeliveryMode = 'at-most-once' | 'at-least-once' | 'exactly-once';

export interface OnMessageOptions {
  /** The consumer's stable name (its inbox key); unique in the app. Default `<Class>.<method>`. */
  consumer?: string;
  /** Most handler calls running at once (default 1). */
  concurrency?: number;
  /**
   * Messages held (claimed ahead, running ones included). Unset, it adapts: from
   * concurrency × transactionBatch, doubling while handlers wait for claims and the queue has
   * a backlog, up to 200 (or that floor, if higher), and back when handlers fall behind or the queue empties
   * (PrefetchWindow). Set, it is fixed.
   */
  prefetch?: number;
  /** `manual` (at-least-once, default): ack when the handler resolves. `auto` (at-most-once): removed before it runs. */
  ackMode?: AckMode;
  /**
   * `exactly-once`: inbox row, the handler's writes through `ctx.manager` and the ack
   * commit in one transaction. The other two are `ackMode` auto and manual.
   */
  mode?: DeliveryMode;
  /**
   * Exactly-once only: up to this many messages share one transaction (one commit),
   * handled one after another in it (default 50). A free slot takes its share of the
   * messages waiting (waiting ÷ free slots, at most this many), so a lone message runs
   * alone and a backlog shares commits. If any fails, the batch rolls back and each message
   * is retried in a transaction of its own.
   */
  transactionBatch?: number;
  /** Delay before a failed delivery is retried; default: the queue's retry policy. */
  retry?: Partial<RetryPolicy>;
  /** Lease per claim; default the queue's. */
  leaseMs?: number;
  /** Options for the queue if Mailroom has to create it. */
  queueOptions?: Record<string, unknown>;
  /** How long shutdown waits for running handlers (default 10000 ms). */
  shutdownTimeoutMs?: number;
  /**
   * A call running longer fails its delivery with "handler timed out" (retried by the retry
   * policy, or dead-lettered) and frees its slot; exactly-once, its transaction rolls back.
   * Default 60000 ms.
   */
  timeoutMs?: number;
}

export interface OnTopicOptions extends OnMessageOptions {
  /** The subscription this handler consumes (default: the consumer name). */
  subscription?: string;
  routingKey?: string;
  headers?: Record<string, string>;
  /** Feed an existing queue instead of the subscription's own. */
  queue?: string;
}

/** A handler's options, validated and with defaults. */
export interface ConsumerSpec {
  consumer: string;
  concurrency: number;
  /** The fewest messages held; held messages never exceed `prefetchMax` (equal when `prefetch` was given). */
  prefetch: number;
  prefetchMax: number;
  ackMode: AckMode;
  exactlyOnce: boolean;
  transactionBatch: number;
  /** Undefined: the queue's policy decides. */
  retry?: RetryPolicy;
  leaseMs?: number;
  shutdownTimeoutMs: number;
  timeoutMs: number;
}

const MESSAGE_KEYS = [
  'consumer',
  'concurrency',
  'prefetch',
  'ackMode',
  'mode',
  'transactionBatch',
  'retry',
  'leaseMs',
  'queueOptions',
  'shutdownTimeoutMs',
  'timeoutMs',
];
const MODES: Record<DeliveryMode, AckMode> = {
  'at-most-once': 'auto',
  'at-least-once': 'manual',
  'exactly-once': 'manual',
};
/**
 * The most an adaptive prefetch holds: two claims' worth (a claim takes at most 100), so
 * that while one batch runs the claim in flight acks the one before and brings a full next
 * one. Held 100, claims carried ~50 each; held 200, ~100 (bench/PROFILE-library.md).
 */
export const ADAPTIVE_PREFETCH_CEILING = 200;
/**
 * Exactly-once: the most messages one transaction takes by default. W5 (exactly-once
 * @OnMessage, concurrency 10): one message per transaction ~0.07 × W3; with shares of
 * the backlog, ~0.8 × W3 (bench/PROFILE-library.md).
 */
export const DEFAULT_TRANSACTION_BATCH = 50;
const TOPIC_KEYS = [...MESSAGE_KEYS, 'subscription', 'routingKey', 'headers', 'queue'];

/** Fails at start with the handler and the option named: `where` is e.g. `Billing.charge`. */
export function resolveConsumerSpec(
  options: OnMessageOptions & OnTopicOptions,
  where: string,
  topic: boolean,
): ConsumerSpec {
  try {
    const allowed = topic ? TOPIC_KEYS : MESSAGE_KEYS;
    for (const key of Object.keys(options)) {
      if (!allowed.includes(key)) throw new InvalidRequestError(key, `unknown option; allowed: ${allowed.join(', ')}`);
    }
    const consumer = options.consumer ?? where;
    assertName(consumer, 'consumer');
    const concurrency = options.concurrency ?? 1;
    assertInteger(concurrency, 'concurrency', 1, 1_000);
    const exactlyOnce = options.mode === 'exactly-once';
    const transactionBatch = options.transactionBatch ?? (exactlyOnce ? DEFAULT_TRANSACTION_BATCH : 1);
    assertInteger(transactionBatch, 'transactionBatch', 1, 1_000);
    if (transactionBatch > 1 && !exactlyOnce) {
      throw new InvalidRequestError('transactionBatch', "applies to mode 'exactly-once' only");
    }
    // Exactly-once, a slot's share of the waiting messages runs as one transaction: the window
    // starts at a full batch per slot, or with one held message per slot (concurrency 1, the
    // default) every message would run alone and no transaction would ever be shared.
    const prefetch = options.prefetch ?? Math.min(10_000, concurrency * transactionBatch);
    assertInteger(prefetch, 'prefetch', concurrency, 10_000);
    const prefetchMax = options.prefetch ?? Math.max(prefetch, ADAPTIVE_PREFETCH_CEILING);
    if (options.mode !== undefined && !(options.mode in MODES)) {
      throw new InvalidRequestError('mode', `must be one of ${Object.keys(MODES).join(', ')}`);
    }
    const ackMode = options.ackMode ?? (options.mode ? MODES[options.mode] : 'manual');
    if (ackMode !== 'manual' && ackMode !== 'auto') throw new InvalidRequestError('ackMode', 'must be manual or auto');
    if (options.mode !== undefined && MODES[options.mode] !== ackMode) {
      throw new InvalidRequestError('ackMode', `contradicts mode ${options.mode}; give one of them`);
    }
    if (options.leaseMs !== undefined) assertInteger(options.leaseMs, 'leaseMs', 100, 12 * 3_600_000);
    const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    assertInteger(shutdownTimeoutMs, 'shutdownTimeoutMs', 0, 600_000);
    const timeoutMs = options.timeoutMs ?? 60_000;
    assertInteger(timeoutMs, 'timeoutMs', 1, 12 * 3_600_000);
    if (topic && options.routingKey !== undefined) routingPattern(options.routingKey);
    if (topic && options.subscription !== undefined) assertName(options.subscription, 'subscription');
    const retry = options.retry === undefined ? undefined : resolveRetryPolicy(options.retry);
    return {
      consumer,
      concurrency,
      prefetch,
      prefetchMax,
      ackMode,
      exactlyOnce,
      transactionBatch,
      retry,
      leaseMs: options.leaseMs,
      shutdownTimeoutMs,
      timeoutMs,
    };
  } catch (error) {
    throw new Error(`Mailroom handler ${where}: ${(error as Error).message}`, { cause: error });
  }
}
