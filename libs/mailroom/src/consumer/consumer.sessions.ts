import type { DataSource } from 'typeorm';
import { InvalidRequestError } from '../errors/mailroom.errors';
import { assertInteger, assertName } from '../errors/validate';
import type { LeaseService } from '../lease/lease.service';
import type { ReceivedMessage } from '../message/message';
import type { QueueRef, QueueService } from '../queue/queue.service';
import { ConsumerSession } from './consumer.session';
import { decodeReceipts } from './receipt';
import type { Wakeups } from './wakeups';

export interface ReceiveRequest {
  /** The consumer's stable name; receives of one name on one node share a session and its lease. */
  consumer?: string;
  max?: number;
  waitMs?: number;
  /** Default: the queue's leaseMs. */
  leaseMs?: number;
  signal?: AbortSignal;
  /**
   * Receipts to ack before claiming, in the same statement: one round trip and one commit
   * for "done with these, give me more". All or nothing, exactly as ack(): a stale receipt
   * raises LeaseLostError, and then nothing is acked and nothing claimed.
   */
  ack?: string[];
}

/** The node's pull sessions, one per (queue, consumer name), created on first receive. */
export class ConsumerSessions {
  private readonly sessions = new Map<string, ConsumerSession>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly queues: QueueService,
    private readonly leases: LeaseService,
    private readonly wakeups: Wakeups,
    private readonly settings: { defaultConsumer: string; pollIntervalMs: number },
  ) {}

  async receive(queue: string, request: ReceiveRequest, take: boolean): Promise<ReceivedMessage[]> {
    const { consumer = this.settings.defaultConsumer, max = 1, waitMs = 0, leaseMs, signal } = request;
    if (take && request.ack !== undefined) throw new InvalidRequestError('ack', 'take() has no deliveries to ack');
    const ack = request.ack === undefined ? undefined : decodeReceipts(request.ack, 'ack');
    assertName(consumer, 'consumer');
    assertInteger(max, 'max', 1, 100);
    assertInteger(waitMs, 'waitMs', 0, 20_000);
    if (leaseMs !== undefined) assertInteger(leaseMs, 'leaseMs', 100, 12 * 3_600_000);
    const ref = await this.queues.ref(queue);
    const session = this.session(ref, consumer);
    return session.receive({ max, waitMs, leaseMs: leaseMs ?? ref.options.leaseMs, signal, take, ack });
  }

  /** Ends one session gracefully: its unsettled messages return without spending an attempt. */
  async release(queue: string, consumer = this.settings.defaultConsumer): Promise<void> {
    const ref = await this.queues.ref(queue);
    const key = `${ref.id}:${consumer}`;
    const session = this.sessions.get(key);
    this.sessions.delete(key);
    await session?.close();
  }

  /** Forgets every session, releasing their leases if `release`. */
  async closeAll(release: boolean): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    if (release) await Promise.all(sessions.map((session) => session.close()));
  }

  private session(ref: QueueRef, consumer: string): ConsumerSession {
    const key = `${ref.id}:${consumer}`;
    let session = this.sessions.get(key);
    if (!session) {
      const { dataSource, leases, wakeups } = this;
      session = new ConsumerSession(ref, consumer, dataSource, leases, wakeups, this.settings.pollIntervalMs);
      this.sessions.set(key, session);
    }
    return session;
  }
}
