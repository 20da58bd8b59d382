import { execute } from '../database/transaction';
import type { DataSource } from 'typeorm';
import { newLease } from '../lease/lease.actor';
import type { LeaseService } from '../lease/lease.service';
import type { ReceivedMessage } from '../message/message';
import type { QueueRef } from '../queue/queue.service';
import { LeaseLostError } from '../errors/mailroom.errors';
import { record, secondsSince } from '../observability/instruments';
import { ACK_AND_CLAIM, ACK_AND_CLAIM_OWN, CLAIM, CLAIM_OWN, TAKE } from './claim.sql';
import { toMessages, type ClaimRow } from './claim.rows';
import { KnownEmpty, type ClaimStamp } from './known-empty';
import { receiptParams, type Receipt } from './receipt';
import { staleReceipts } from './settlement';
import type { Wakeups } from '../database/wakeups';

export interface ReceiveOptions {
  /** Most messages to take (1-100). */
  max: number;
  /** Long-poll: wait up to this long for a message (0 returns at once). */
  waitMs: number;
  /**
   * Lease duration for this receive: the messages it claims are leased until now + leaseMs
   * (a session lease: renewed to at least that; see ConsumerSession).
   */
  leaseMs: number;
  signal?: AbortSignal;
  /** At-most-once: remove the messages as they are taken; no lease, no receipt. */
  take?: boolean;
  /** Settled deliveries to ack in the first claim's statement (all or nothing, as ack()). */
  ack?: Receipt[];
}

/**
 * Who owns the leases of a session's receives:
 * - `per-receive` (pull receives of a standard or grouped queue): each claim opens a lease
 *   of its own for the batch it takes (CLAIM_OWN). Only extends with that batch's
 *   receipts move its deadline; other receives of the consumer name never do.
 * - `session` (a push consumer instance; an exclusive queue, whose one active consumer is
 *   the consumer name): one lease for all the session's claims, renewed by them
 *   (CLAIM) and by the owner's extends (the push consumer's heartbeat).
 */
export type LeaseOwnership = 'per-receive' | 'session';

/**
 * One consumer's receives on one queue on this node: claims messages under leases (see
 * LeaseOwnership) and coalesces the claims of receives woken together. A lease that
 * expired is replaced on the next claim; its messages come back via the reaper.
 */
export class ConsumerSession {
  /** The session lease (`session` ownership). */
  private leaseId: string | null = null;
  /** Session leases no longer renewed by claims (retireLease), released on close() if still there. */
  private readonly retired = new Set<string>();
  /** `per-receive`: leases this session opened, by deadline (ms), released on close(). */
  private readonly ownLeases = new Map<string, number>();
  private readonly leaseRow: ReturnType<typeof newLease>;
  private claiming: Promise<unknown> = Promise.resolve();
  /** Claims started so far, and the number of the latest one that found nothing (see claim()). */
  private claimsStarted = 0;
  private lastEmptyClaim = -1;
  private readonly knownEmpty: KnownEmpty;
  /** Receives running now: a session is only forgotten between them. */
  private receiving = 0;

  constructor(
    readonly queue: QueueRef,
    readonly consumer: string,
    private readonly dataSource: DataSource,
    private readonly leases: LeaseService,
    private readonly wakeups: Wakeups,
    private readonly pollIntervalMs: number,
    readonly ownership: LeaseOwnership,
  ) {
    this.leaseRow = newLease({ queueId: queue.id, consumer });
    this.knownEmpty = new KnownEmpty(wakeups, queue, pollIntervalMs);
  }

  /**
   * Nothing running and no lease this node would have to release: forgetting the session
   * loses nothing (a new receive starts a new one), so one-off consumer names do not pile up.
   */
  get idle(): boolean {
    const now = Date.now();
    for (const [id, deadline] of this.ownLeases) if (deadline < now) this.ownLeases.delete(id);
    return this.receiving === 0 && this.leaseId === null && this.ownLeases.size === 0 && this.retired.size === 0;
  }

  async receive(options: ReceiveOptions): Promise<ReceivedMessage[]> {
    this.receiving++;
    try {
      return await this.receiveWhileCounted(options);
    } finally {
      this.receiving--;
    }
  }

  private async receiveWhileCounted(options: ReceiveOptions): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + options.waitMs;
    // Watch before claiming: a send that commits between our empty claim and the wait
    // still wakes us (no lost wake-up), so latency is one notification, not a poll.
    const watch = this.wakeups.watch(this.queue.id);
    try {
      // A long poll that starts while the queue is known to be empty waits first: its claim
      // would find nothing (a push consumer's long poll right after the claim that brought
      // the last message: one statement a message fewer when messages come one at a time).
      let pollMs = options.waitMs > 0 && !options.ack?.length ? this.knownEmpty.pollMs() : null;
      for (let acks = options.ack ?? [], wokenAt = -1; ; acks = [], pollMs = null) {
        if (pollMs === null) {
          const messages = options.take ? await this.take(options.max) : await this.claim(options, acks, wokenAt);
          if (messages.length > 0 || deadline <= Date.now() || options.signal?.aborted) return messages;
          // The claim saw the queue as it was before its acks: a grouped message whose
          // predecessor it just acked is deliverable now, and no notification will say so.
          if (acks.length > 0) continue;
        }
        record('waiting', this.queue.name, 1);
        await watch
          .wait(Math.min(deadline - Date.now(), pollMs ?? this.pollIntervalMs), options.signal)
          .finally(() => record('waiting', this.queue.name, -1));
        wokenAt = this.claimsStarted;
        // A caller that gave up while we waited must not be handed messages nobody will receive.
        if (options.signal?.aborted) return [];
      }
    } finally {
      watch.dispose();
    }
  }

  /**
   * The session's claims stop renewing its lease: the next one opens a new lease. The old
   * one keeps what it holds while extends of those receipts (a push consumer's heartbeat
   * for the messages it still runs or holds) renew it; then it expires, and the reaper
   * returns what nobody settled, counting an attempt. For a message in it that nobody
   * will settle: a claim's answer that was lost, an ack or nack that failed for good.
   */
  retireLease(): void {
    if (this.leaseId) this.retired.add(this.leaseId);
    this.leaseId = null;
  }

  /** Ends the session: unsettled messages of its live leases return without spending an attempt. */
  async close(): Promise<void> {
    // A retired lease that expired and was reaped already is gone: its release finds nothing.
    const leaseIds = [...this.ownLeases.keys(), ...(this.leaseId ? [this.leaseId] : []), ...this.retired];
    this.leaseId = null;
    this.ownLeases.clear();
    this.retired.clear();
    for (const id of leaseIds) await this.leases.release(id);
  }

  /** At-most-once: a take is a delivery (and counted as one), settled in the statement that takes it. */
  private async take(max: number): Promise<ReceivedMessage[]> {
    const clock = performance.now();
    const stamp = this.knownEmpty.stamp();
    const rows = await execute<ClaimRow>(this.dataSource.manager, TAKE, { queue: this.queue.id, max });
    this.knownEmpty.claimed(stamp, rows.length, max);
    const messages = toMessages(
      rows.map((row) => ({ ...row, delivery_count: row.delivery_count + 1 })),
      null,
    );
    record(
      'claimed',
      this.queue.name,
      messages.map((m) => m.deliveryCount),
      secondsSince(clock),
    );
    return messages;
  }

  /**
   * One claim at a time per session: with a session lease every claim updates its row, so
   * concurrent ones would only queue on its row lock, each holding a pooled connection
   * through the wait (measured: 10 pull loops on one consumer name, ~550 msg/s); with
   * per-receive leases it is what lets receives woken together skip claims (below).
   */
  private claim(options: ReceiveOptions, acks: Receipt[], wokenAt: number): Promise<ReceivedMessage[]> {
    // Receives waiting on one session all wake on one notification. Once a claim that
    // started after our wake-up found nothing, ours would find nothing either: skip it and
    // wait again (one notification: one claim that delivers and one that finds the queue
    // empty, not one per waiting receive). A later send notifies again.
    const claimed = this.claiming.then(() =>
      acks.length === 0 && wokenAt >= 0 && this.lastEmptyClaim >= wokenAt ? [] : this.claimOnce(options, acks),
    );
    this.claiming = claimed.catch(() => undefined);
    return claimed;
  }

  private async claimOnce(options: ReceiveOptions, acks: Receipt[]): Promise<ReceivedMessage[]> {
    const started = this.claimsStarted++;
    const clock = performance.now();
    const messages = await this.claimInLease(options, acks, this.knownEmpty.stamp());
    // Returned, not thrown: every carried ack was live and is acked (all or nothing).
    if (acks.length > 0) record('acked', this.queue.name, acks.length);
    record(
      'claimed',
      this.queue.name,
      messages.map((m) => m.deliveryCount),
      secondsSince(clock),
    );
    if (messages.length === 0) this.lastEmptyClaim = Math.max(this.lastEmptyClaim, started);
    return messages;
  }

  /** Claims; tells `knownEmpty` what the statement saw, if it looked (`stamp`: when it started). */
  private async claimInLease(options: ReceiveOptions, acks: Receipt[], stamp: ClaimStamp): Promise<ReceivedMessage[]> {
    if (this.ownership === 'per-receive') return this.claimOwn(options, acks, stamp);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (!this.leaseId) this.leaseId = await this.leases.open(this.queue, this.consumer, options.leaseMs);
      if (!this.leaseId) break; // exclusive ordering: another consumer holds the queue
      const rows = await (
        acks.length
          ? this.ackAndClaim(acks, options)
          : execute<ClaimRow>(this.dataSource.manager, CLAIM, {
              lease: this.leaseId,
              max: options.max,
              leaseMs: options.leaseMs,
            })
      ).catch((error: unknown) => {
        // A claim whose answer was lost (the connection died, a failover) may have committed:
        // messages no one will handle sit in this lease. Its claims must stop renewing it, so
        // it expires once its held messages settle and the reaper offers them again.
        if (!(error instanceof LeaseLostError)) this.retireLease();
        throw error;
      });
      acks = []; // acked (a stale receipt has thrown)
      if (rows[0]?.expires_ms) {
        const messages = toMessages(rows, new Date(rows[0].expires_ms));
        this.knownEmpty.claimed(stamp, messages.length, options.max);
        return messages;
      }
      this.leaseId = null; // expired or released under us: open a fresh lease and try once more
    }
    // Nothing claimed; receipts still to ack are acked on their own, as ack() would.
    if (acks.length) await this.ackAndClaim(acks, { ...options, max: 0 });
    return [];
  }

  /** A claim into a lease of its own (CLAIM_OWN); with acks, in the same statement. */
  private async claimOwn(options: ReceiveOptions, acks: Receipt[], stamp: ClaimStamp): Promise<ReceivedMessage[]> {
    const { state, snapshot } = this.leaseRow;
    const claim = {
      queue: this.queue.id,
      max: options.max,
      leaseMs: options.leaseMs,
      consumer: this.consumer,
      state,
      snapshot,
    };
    const manager = this.dataSource.manager;
    const rows = acks.length
      ? await execute<ClaimRow>(manager, ACK_AND_CLAIM_OWN, Object.assign(receiptParams(this.queue.id, acks), claim))
      : await execute<ClaimRow>(manager, CLAIM_OWN, claim);
    if (acks.length && !rows[0].acked) throw new LeaseLostError(await staleReceipts(manager, this.queue.id, acks));
    const opened = rows[0]?.lease_id ? rows[0] : null;
    // Remembered only to release it on close(); a lease past its deadline is the reaper's.
    for (const [id, deadline] of this.ownLeases) if (deadline < Date.now()) this.ownLeases.delete(id);
    this.knownEmpty.claimed(stamp, opened ? rows.length : 0, options.max);
    if (!opened) return [];
    this.ownLeases.set(opened.lease_id!, opened.expires_ms!);
    return toMessages(rows, new Date(opened.expires_ms!));
  }

  private async ackAndClaim(acks: Receipt[], options: ReceiveOptions): Promise<ClaimRow[]> {
    const claim = { lease: this.leaseId, max: options.max, leaseMs: options.leaseMs };
    const rows = await execute<ClaimRow>(
      this.dataSource.manager,
      ACK_AND_CLAIM,
      Object.assign(receiptParams(this.queue.id, acks), claim), // not a spread: see Settlement.run
    );
    if (!rows[0].acked) throw new LeaseLostError(await staleReceipts(this.dataSource.manager, this.queue.id, acks));
    return rows;
  }
}
