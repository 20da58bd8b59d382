import type { DataSource } from 'typeorm';
import { InvalidRequestError } from '../errors/mailroom.errors';
import { assertInteger, assertName } from '../errors/validate';
import type { LeaseService } from '../lease/lease.service';
import type { ReceivedMessage } from '../message/message';
import type { QueueRef, QueueService } from '../queue/queue.service';
import { ConsumerSession } from './consumer.session';
import { decodeReceipts } from './receipt';
import type { Wakeups } from '../database/wakeups';

export interface ReceiveRequest {
  /**
   * The consumer's stable name (default: the node's default consumer). Each receive owns
   * the lease of the messages it claims: only extends with their receipts move its
   * deadline, and no other receive of the name renews it. On an exclusive queue the name is
   * the one active consumer: its receives share one lease, which each of them renews.
   */
  consumer?: string;
  /**
   * A session of your own on this node (the push consumer passes one per instance):
   * receives naming it share one lease, renewed by their claims and by extends of any of
   * their receipts, and released by release(queue, consumer, session).
   */
  session?: string;
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

/**
 * The node's consumer sessions, one per (queue, consumer name[, session]), created on first
 * receive and forgotten once idle (no receive running, no lease held): they coalesce the
 * claims of receives woken together and own their leases (ConsumerSession's LeaseOwnership).
 */
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
    if (request.session !== undefined) assertName(request.session, 'session');
    const ref = await this.queues.ref(queue);
    const key = sessionKey(ref, consumer, request.session);
    const session = this.session(key, ref, consumer, request.session);
    try {
      return await session.receive({ max, waitMs, leaseMs: leaseMs ?? ref.options.leaseMs, signal, take, ack });
    } finally {
      if (session.idle && this.sessions.get(key) === session) this.sessions.delete(key);
    }
  }

  /** Sessions this node keeps: those with a receive running or a lease to release. */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * The session's claims stop renewing its current lease (ConsumerSession.retireLease).
   * Needs no database: it is asked for when the database failed a settle.
   */
  retireLease(queue: string, consumer = this.settings.defaultConsumer, sessionName?: string): void {
    for (const [key, session] of this.sessions) {
      if (session.queue.name === queue && key === sessionKey(session.queue, consumer, sessionName))
        session.retireLease();
    }
  }

  /** Ends one session gracefully: its unsettled messages return without spending an attempt. */
  async release(queue: string, consumer = this.settings.defaultConsumer, sessionName?: string): Promise<void> {
    const ref = await this.queues.ref(queue);
    const key = sessionKey(ref, consumer, sessionName);
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

  private session(key: string, ref: QueueRef, consumer: string, sessionName?: string): ConsumerSession {
    let session = this.sessions.get(key);
    if (!session) {
      // Sessions whose leases expired since their last receive hold nothing any more.
      for (const [other, idle] of this.sessions) if (idle.idle) this.sessions.delete(other);
      const { dataSource, leases, wakeups } = this;
      const shared = sessionName !== undefined || ref.options.ordering === 'exclusive';
      const ownership = shared ? 'session' : 'per-receive';
      session = new ConsumerSession(
        ref,
        consumer,
        dataSource,
        leases,
        wakeups,
        this.settings.pollIntervalMs,
        ownership,
      );
      this.sessions.set(key, session);
    }
    return session;
  }
}

function sessionKey(ref: QueueRef, consumer: string, sessionName?: string): string {
  return sessionName === undefined ? `${ref.id}:${consumer}` : `${ref.id}:${consumer}:${sessionName}`;
}
