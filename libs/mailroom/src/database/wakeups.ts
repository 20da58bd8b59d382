import { EventEmitter } from 'node:events';
import { Client, type ClientConfig } from 'pg';
import { ACTOR_CHANNEL, MESSAGE_CHANNEL, OUTBOX_CHANNEL, type ActorAnnouncement } from './channels';

const ANNOUNCE_SQL = `SELECT pg_notify('${MESSAGE_CHANNEL}', id::text) FROM mailroom_queue WHERE name = ANY($1)`;

/**
 * The node's one LISTEN connection, shared by every consumer and cache in the process.
 * If it drops, it reconnects with backoff and emits `resync`: notifications may have
 * been missed, so waiters claim again and caches forget what they knew.
 */
export class Wakeups extends EventEmitter {
  private client: Client | null = null;
  private closed = false;
  private retryMs = 100;
  /** Wake-ups so far, by queue id, and resyncs so far: see mark(). */
  private readonly woken = new Map<number, number>();
  private resyncs = 0;

  constructor(private readonly config: ClientConfig) {
    super();
    this.setMaxListeners(0);
  }

  async start(): Promise<void> {
    this.closed = false;
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /**
   * Starts watching queue `queueId`. A notification that arrives before `wait` is called
   * is remembered, so a caller can watch, check for messages, then wait without a gap.
   */
  watch(queueId: number): Watch {
    return new Watch(this, `queue:${queueId}`);
  }

  /** Wakes this node's consumers of queue `queueId` now, as its notification would. */
  wakeLocal(queueId: number): void {
    this.wakeQueue(queueId);
  }

  /**
   * A number that changes whenever queue `queueId` is woken (its notification, wakeLocal,
   * a resync): two equal marks mean no wake-up came between them. A claim that found the
   * queue empty, with the mark unchanged since it started, tells a receive that claiming
   * again would find nothing either (delivery/known-empty.ts).
   */
  mark(queueId: number): number {
    return this.resyncs + (this.woken.get(queueId) ?? 0);
  }

  /**
   * Announces deliverable messages on the queues named `queues` to every node's consumers
   * (this node's too: its own notification comes back here). Sent on this connection, so
   * it never waits for a pool connection behind the app's work; while the connection is
   * down, on `fallback` (a pool's).
   */
  async announce(queues: string[], fallback?: (sql: string, params: unknown[]) => Promise<unknown>): Promise<void> {
    const params = [queues];
    if (this.client) await this.client.query(ANNOUNCE_SQL, params);
    else await fallback?.(ANNOUNCE_SQL, params);
  }

  /** The same latch over an outbox destination's wake-ups. */
  watchOutbox(destination: string): Watch {
    return new Watch(this, `outbox:${destination}`);
  }

  private async connect(): Promise<void> {
    const client = new Client({ ...this.config, application_name: 'mailroom-listen' });
    client.on('notification', (n) => this.dispatch(n.channel, n.payload ?? ''));
    client.on('error', () => this.reconnect(client));
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${MESSAGE_CHANNEL}`);
      await client.query(`LISTEN ${ACTOR_CHANNEL}`);
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      this.client = client;
      this.retryMs = 100;
      this.resync();
    } catch (error) {
      await client.end().catch(() => undefined);
      if (this.closed) return;
      this.emit('listen-error', error);
      this.scheduleReconnect();
    }
  }

  private reconnect(client: Client): void {
    if (this.client !== client || this.closed) return;
    this.client = null;
    client.end().catch(() => undefined);
    this.resync();
    this.scheduleReconnect();
  }

  private resync(): void {
    this.resyncs += 1;
    this.emit('resync');
  }

  private wakeQueue(queueId: number): void {
    this.woken.set(queueId, (this.woken.get(queueId) ?? 0) + 1);
    this.emit(`queue:${queueId}`);
  }

  private scheduleReconnect(): void {
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
    setTimeout(() => void (this.closed ? undefined : this.connect()), delay).unref();
  }

  private dispatch(channel: string, payload: string): void {
    if (channel === MESSAGE_CHANNEL) {
      this.wakeQueue(Number(payload));
    } else if (channel === OUTBOX_CHANNEL) {
      this.emit(`outbox:${payload}`);
    } else if (channel === ACTOR_CHANNEL) {
      this.emit('actor', JSON.parse(payload) as ActorAnnouncement);
    }
  }
}

/** A latch over one queue's (or destination's) wake-ups and resyncs; see Wakeups.watch. */
export class Watch {
  private woken = false;
  private wake: (() => void) | null = null;
  private readonly onWake = () => {
    this.woken = true;
    this.wake?.();
  };

  constructor(
    private readonly wakeups: Wakeups,
    private readonly event: string,
  ) {
    wakeups.on(event, this.onWake);
    wakeups.on('resync', this.onWake);
  }

  /** Resolves at the next wake-up (or at once if one came since the last wait), or after `ms`. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.woken || signal?.aborted) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = null;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      this.wake = done;
    });
  }

  dispose(): void {
    this.wakeups.off(this.event, this.onWake);
    this.wakeups.off('resync', this.onWake);
    this.wake?.();
  }
}
