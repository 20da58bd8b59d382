import type { EntityManager } from 'typeorm';
import { query } from '../database/transaction';
import { MailroomError } from '../errors/mailroom.errors';
import { assertName } from '../errors/validate';
import type { OutgoingMessage, SendResult } from '../message/message';
import type { QueueBody } from '../message/registry';
import type { Producer, ProducerStamp, SendOptions } from './producer';
import { PRODUCER_ACKS_SQL } from './send.sql';

export interface ProducerOptions {
  /** Refuse a send that skips sequences (default: accept gaps). */
  rejectGaps?: boolean;
  /** Retries of a send that failed for a reason other than Mailroom refusing it (default 5). */
  retries?: number;
  /** Told of each retry (for logs and metrics). */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** Starting an instance bumps the epoch: every older instance of the producer is fenced from now on. */
const INIT_SQL = `
INSERT INTO mailroom_producer AS p (id, epoch, reject_gaps) VALUES ($1, 1, $2)
ON CONFLICT (id) DO UPDATE
   SET epoch = p.epoch + 1, reject_gaps = EXCLUDED.reject_gaps, last_sequence = -1, updated_at = now()
RETURNING epoch`;

export async function initProducer(manager: EntityManager, id: string, rejectGaps: boolean): Promise<number> {
  assertName(id, 'producer');
  const [{ epoch }] = await query<{ epoch: number }>(manager, INIT_SQL, [id, rejectGaps]);
  return epoch;
}

/** The answers kept for `sequences` of the stamp's producer and epoch, by sequence. */
export async function findAcks(
  manager: EntityManager,
  stamp: ProducerStamp | null,
  sequences: number[],
): Promise<Map<number, { id: string; sequence: number }>> {
  if (!stamp || sequences.length === 0) return new Map();
  const rows = await query<{ sequence: string; id: string; seq: string }>(manager, PRODUCER_ACKS_SQL, [
    stamp.id,
    stamp.epoch,
    sequences,
  ]);
  return new Map(rows.map((r) => [Number(r.sequence), { id: r.id, sequence: Number(r.seq) }]));
}

/**
 * One instance of a named idempotent producer: each send carries (id, epoch, sequence).
 * A send whose answer was lost (a dropped connection, a failover) is retried with the
 * same sequence, which is recognised whatever the queue's dedup window (any sequence at or
 * below the highest sent at this epoch is a retry, as in Kafka) and answered with the
 * original `{ id, sequence }` and `duplicate: true` instead of storing it twice. An instance
 * fenced by a newer one (a zombie after a partition) fails with ProducerFencedError.
 */
export class IdempotentProducer {
  private nextSequence = 0;
  private inFlight: Promise<unknown> = Promise.resolve();
  private readonly retries: number;
  private readonly onRetry?: (error: unknown, attempt: number) => void;

  constructor(
    private readonly producer: Producer,
    readonly id: string,
    readonly epoch: number,
    options: ProducerOptions = {},
  ) {
    this.retries = options.retries ?? 5;
    this.onRetry = options.onRetry;
  }

  async send<Q extends string>(
    queue: Q,
    body: QueueBody<Q>,
    options: Omit<OutgoingMessage, 'body'> & Omit<SendOptions, 'producer'> = {},
  ): Promise<SendResult> {
    const { manager, ...message } = options;
    const [result] = await this.sendBatch(queue, [{ ...message, body }], { manager });
    return result;
  }

  /**
   * Sends run one at a time, in the order they were called: a sequence below one already
   * stored counts as a retry, so a send overtaken by a later one would be dropped as a
   * duplicate (Kafka keeps order with its in-flight limit; here one batch is in flight).
   */
  sendBatch<Q extends string>(
    queue: Q,
    messages: OutgoingMessage<QueueBody<Q>>[],
    options: Omit<SendOptions, 'producer'> = {},
  ): Promise<SendResult[]> {
    const stamp = { id: this.id, epoch: this.epoch, sequence: this.nextSequence };
    this.nextSequence += messages.length;
    const sent = this.inFlight.then(() => this.sendWithRetries(queue, messages, stamp, options));
    this.inFlight = sent.catch(() => undefined);
    return sent;
  }

  private async sendWithRetries(
    queue: string,
    messages: OutgoingMessage[],
    stamp: ProducerStamp,
    options: Omit<SendOptions, 'producer'>,
  ): Promise<SendResult[]> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.producer.sendBatch(queue, messages, { ...options, producer: stamp });
      } catch (error) {
        // Inside a caller's transaction a retry cannot help: the transaction is aborted.
        const retryable = !(error instanceof MailroomError) && !options.manager && attempt < this.retries;
        if (!retryable) throw error;
        this.onRetry?.(error, attempt + 1);
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }
}
