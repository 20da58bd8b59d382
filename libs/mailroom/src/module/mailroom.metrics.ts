import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, Histogram, register, type Registry } from 'prom-client';
import { MailroomClient } from '../client/mailroom.client';
import { query } from '../database/transaction';
import { observe, type MailroomObserver } from '../observability/instruments';
import { DEAD_LETTERED_SQL, OUTBOX_BACKLOG_SQL, QUEUE_DEPTH_SQL, WORKFLOW_INSTANCES_SQL } from './metrics.sql';

export const MAILROOM_METRICS_OPTIONS = Symbol('MAILROOM_METRICS_OPTIONS');

export interface MailroomMetricsOptions {
  /** Where the metrics register (default: prom-client's global `register`). */
  registry?: Registry;
  /**
   * The gauges read whole tables: they are recomputed at most this often (default 10 s),
   * so a scrape every second on a queue of millions costs one count per interval.
   */
  depthIntervalMs?: number;
}

type Row = Record<string, string>;
interface Snapshot {
  at: number;
  depth: Row[];
  deadLettered: Row[];
  outbox: Row[];
  workflows: Row[];
}

const LATENCY_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const HANDLER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const DEPTH_STATES = ['available', 'in_flight', 'delayed', 'exhausted'] as const;

/**
 * Prometheus metrics for every Mailroom client in this process: counters and histograms
 * fed by the library's instruments (per node: Prometheus sums them), gauges read from the
 * database (the same on every node: aggregate them with max, not sum).
 * Mount it as a provider next to MailroomModule, or construct it with a client.
 */
@Injectable()
export class MailroomMetrics implements OnModuleDestroy {
  readonly registry: Registry;
  private readonly detach: () => void;
  private readonly intervalMs: number;
  private snapshot: Snapshot | null = null;
  private refreshing: Promise<Snapshot> | null = null;

  constructor(
    @Inject(MailroomClient) private readonly client: MailroomClient,
    @Optional() @Inject(MAILROOM_METRICS_OPTIONS) options: MailroomMetricsOptions = {},
  ) {
    this.registry = options.registry ?? register;
    this.intervalMs = options.depthIntervalMs ?? 10_000;
    this.detach = observe(this.instruments());
    this.gauges();
  }

  onModuleDestroy(): void {
    this.detach();
    for (const name of Object.keys(this.names)) this.registry.removeSingleMetric(name);
  }

  /** The metric names this instance registered, with their help text. */
  private readonly names: Record<string, string> = {};

  private counter(name: string, help: string, labelNames: string[]): Counter {
    this.names[name] = help;
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram(name: string, help: string, labelNames: string[], buckets: number[]): Histogram {
    this.names[name] = help;
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  private gauge(name: string, help: string, labelNames: string[], collect?: (g: Gauge) => Promise<void>): Gauge {
    this.names[name] = help;
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      ...(collect && {
        async collect(this: Gauge) {
          await collect(this);
        },
      }),
    });
  }

  private instruments(): MailroomObserver {
    const sent = this.counter('mailroom_messages_sent_total', 'Messages stored by sends', ['queue']);
    const sendSeconds = this.histogram(
      'mailroom_send_statement_seconds',
      'Latency of send statements',
      ['queue'],
      LATENCY_BUCKETS,
    );
    const published = this.counter('mailroom_messages_published_total', 'Messages published to a topic', ['topic']);
    const publishSeconds = this.histogram(
      'mailroom_publish_statement_seconds',
      'Latency of publish statements (fan-out included)',
      ['topic'],
      LATENCY_BUCKETS,
    );
    const deliveries = this.counter(
      'mailroom_deliveries_total',
      'Messages delivered to consumers (claimed under a lease, or taken at-most-once)',
      ['queue'],
    );
    const redeliveries = this.counter(
      'mailroom_redeliveries_total',
      'Claims of a message delivered before (after a nack or an expired lease)',
      ['queue'],
    );
    const claimSeconds = this.histogram(
      'mailroom_claim_statement_seconds',
      'Latency of claim statements',
      ['queue'],
      LATENCY_BUCKETS,
    );
    const acks = this.counter('mailroom_acks_total', 'Deliveries acked', ['queue']);
    const nacks = this.counter('mailroom_nacks_total', 'Deliveries nacked', ['queue']);
    const retries = this.counter('mailroom_retries_total', 'Nacked deliveries to be retried', ['queue']);
    const deadLetters = this.counter(
      'mailroom_dead_letters_total',
      'Messages that failed for good, by reason: moved to the DLQ (or, without one, left exhausted)',
      ['queue', 'reason'],
    );
    const leaseExpired = this.counter(
      'mailroom_lease_expired_redeliveries_total',
      'Messages the lease reaper returned from expired leases, to be delivered again',
      ['queue'],
    );
    const expiredDropped = this.counter(
      'mailroom_expired_dropped_total',
      'Messages whose time-to-live passed, deleted (the queue does not dead-letter expired messages)',
      ['queue'],
    );
    const handler = this.histogram(
      'mailroom_handler_seconds',
      'Handler call duration',
      ['queue', 'outcome'],
      HANDLER_BUCKETS,
    );
    const waiting = this.gauge('mailroom_long_polls_waiting', 'Receives waiting for messages', ['queue']);
    const relayErrors = this.counter('mailroom_outbox_relay_errors_total', 'Failed outbox deliveries', ['destination']);
    const transitions = this.counter('mailroom_workflow_transitions_total', 'Workflow transitions applied', [
      'workflow',
    ]);
    return {
      sent: (queue, stored, seconds) => {
        sent.inc({ queue }, stored);
        sendSeconds.observe({ queue }, seconds);
      },
      claimed: (queue, counts, seconds) => {
        claimSeconds.observe({ queue }, seconds);
        if (counts.length) deliveries.inc({ queue }, counts.length);
        const again = counts.filter((c) => c > 1).length;
        if (again) redeliveries.inc({ queue }, again);
      },
      acked: (queue, count) => acks.inc({ queue }, count),
      published: (topic, count, seconds) => {
        published.inc({ topic }, count);
        publishSeconds.observe({ topic }, seconds);
      },
      nacked: (queue, count, retried) => {
        nacks.inc({ queue }, count);
        if (retried) retries.inc({ queue }, retried);
      },
      deadLettered: (queue, reason, count) => deadLetters.inc({ queue, reason }, count),
      leaseExpired: (queue, count) => leaseExpired.inc({ queue }, count),
      expiredDropped: (queue, count) => expiredDropped.inc({ queue }, count),
      handled: (queue, outcome, seconds) => handler.observe({ queue, outcome }, seconds),
      waiting: (queue, delta) => waiting.inc({ queue }, delta),
      relayFailed: (destination) => relayErrors.inc({ destination }),
      transitioned: (workflow) => transitions.inc({ workflow }),
    };
  }

  private gauges(): void {
    const fill = (read: (s: Snapshot) => Row[], set: (g: Gauge, row: Row) => void) => async (g: Gauge) => {
      const rows = read(await this.current());
      g.reset();
      for (const row of rows) set(g, row);
    };
    this.gauge(
      'mailroom_queue_messages',
      'Messages per queue and state (exhausted: failed maxDeliveries times, no DLQ)',
      ['queue', 'state'],
      fill(
        (s) => s.depth,
        (g, r) => DEPTH_STATES.forEach((state) => g.set({ queue: r.name, state }, Number(r[state]))),
      ),
    );
    this.gauge(
      'mailroom_queue_oldest_message_age_seconds',
      'Age of the oldest message not in flight',
      ['queue'],
      fill(
        (s) => s.depth,
        (g, r) => g.set({ queue: r.name }, Number(r.oldest_seconds)),
      ),
    );
    this.gauge(
      'mailroom_queue_dead_lettered',
      'Dead letters waiting in a DLQ, by the queue they failed in',
      ['queue'],
      fill(
        (s) => s.deadLettered,
        (g, r) => g.set({ queue: r.origin }, Number(r.dead_lettered)),
      ),
    );
    this.gauge(
      'mailroom_outbox_backlog',
      'Outbox rows not yet delivered',
      ['destination'],
      fill(
        (s) => s.outbox,
        (g, r) => g.set({ destination: r.destination }, Number(r.backlog)),
      ),
    );
    this.gauge(
      'mailroom_workflow_instances',
      'Workflow instances by status',
      ['workflow', 'status'],
      fill(
        (s) => s.workflows,
        (g, r) => g.set({ workflow: r.workflow, status: r.status }, Number(r.instances)),
      ),
    );
  }

  /**
   * The gauges' figures, read again only when older than the interval, one read at a
   * time. Once there are figures a scrape never waits for a read: it gets the last ones
   * and starts the next (a read of 1,000,000 messages takes ~1 s, see bench/RESULTS.md).
   */
  private current(): Promise<Snapshot> {
    if (this.snapshot && Date.now() - this.snapshot.at < this.intervalMs) return Promise.resolve(this.snapshot);
    this.refreshing ??= this.read().finally(() => (this.refreshing = null));
    if (this.snapshot) {
      this.refreshing.catch(() => undefined); // a failed read leaves the last figures; the next scrape retries
      return Promise.resolve(this.snapshot);
    }
    return this.refreshing;
  }

  private async read(): Promise<Snapshot> {
    const manager = this.client.dataSource.manager;
    const [depth, deadLettered, outbox, workflows] = await Promise.all(
      [QUEUE_DEPTH_SQL, DEAD_LETTERED_SQL, OUTBOX_BACKLOG_SQL, WORKFLOW_INSTANCES_SQL].map((sql) =>
        query<Row>(manager, sql, []),
      ),
    );
    this.snapshot = { at: Date.now(), depth, deadLettered, outbox, workflows };
    return this.snapshot;
  }
}
