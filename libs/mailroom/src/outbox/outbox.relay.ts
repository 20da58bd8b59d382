import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import type { Wakeups } from '../database/wakeups';
import { asSingleton } from '../database/singleton';
import { query } from '../database/transaction';
import { record } from '../observability/instruments';
import { injectTraceContext, traceRelay } from '../observability/tracing';
import { deliveryFor, type Deliver } from './outbox.destination';
import type { ResolvedOutboxOptions } from './outbox.options';
import { bucketOf } from './outbox';
import { OUTBOX_BATCH_SQL, OUTBOX_DEAD_LETTER_SQL, OUTBOX_DELIVERED_SQL, OUTBOX_FAILED_SQL } from './outbox.sql';

interface Row {
  id: string;
  key: string;
  message_id: string;
  pattern: string;
  data: unknown;
  headers: Record<string, string> | null;
  attempts: number;
  due: boolean;
}

/** Advisory lock keys for bucket leases: a range of their own, apart from the chores'. */
const LEASE_BASE = 0x6d62 * 2 ** 32;

/**
 * Relays one destination's outbox. Each bucket (a range of keys) is leased to one node at
 * a time by an advisory lock held for one batch transaction; within it rows go out in id
 * order, and a row that fails blocks the later rows of its key until it is delivered or
 * dead-lettered, so each key keeps its order. A row is deleted in the transaction that
 * saw it delivered: a relay that dies mid-batch rolls back and the next one sends those
 * rows again (at least once, in order); receivers deduplicate on the stable message id.
 */
export class OutboxRelay {
  private readonly logger: Logger;
  private readonly deliver: Deliver;
  private readonly abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    private readonly wakeups: Wakeups,
    private readonly destination: string,
    private readonly options: ResolvedOutboxOptions,
  ) {
    this.logger = new Logger(`Mailroom:outbox:${destination}`);
    this.deliver = deliveryFor(options.destinations[destination]);
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  /** One pass over every bucket; how many rows it delivered, failed or dead-lettered. */
  async pass(): Promise<number> {
    let handled = 0;
    for (let bucket = 0; bucket < this.options.buckets; bucket += 1) {
      await asSingleton(
        this.dataSource,
        LEASE_BASE + bucketOf(this.destination, 2 ** 20) * 1_024 + bucket,
        async (tx) => {
          handled += await this.relayBatch(tx, bucket);
        },
      );
    }
    return handled;
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      const watch = this.wakeups.watchOutbox(this.destination);
      try {
        if ((await this.pass()) === 0) await watch.wait(this.options.pollIntervalMs, this.abort.signal);
      } catch (error) {
        this.logger.error(`relay pass failed, retrying: ${(error as Error).message}`);
        await watch.wait(this.options.pollIntervalMs, this.abort.signal);
      } finally {
        watch.dispose();
      }
    }
  }

  private async relayBatch(tx: EntityManager, bucket: number): Promise<number> {
    const rows = await query<Row>(tx, OUTBOX_BATCH_SQL, [this.destination, bucket, this.options.batchSize]);
    const blocked = new Set<string>();
    let handled = 0;
    for (const row of rows) {
      if (blocked.has(row.key)) continue;
      if (!row.due) {
        blocked.add(row.key); // waiting for its retry: later rows of its key wait too
        continue;
      }
      handled += 1;
      try {
        await this.deliverWithin(row);
        await query(tx, OUTBOX_DELIVERED_SQL, [row.id]);
      } catch (error) {
        record('relayFailed', this.destination);
        const reason = String((error as Error)?.message ?? error).slice(0, 4_000);
        if (row.attempts + 1 >= this.options.maxAttempts) {
          await query(tx, OUTBOX_DEAD_LETTER_SQL, [row.id, reason]);
          this.logger.warn(`row ${row.id} (key "${row.key}") moved to the outbox dead letters: ${reason}`);
        } else {
          const { strategy, delayMs, maxDelayMs, jitter } = this.options.retry;
          await query(tx, OUTBOX_FAILED_SQL, [row.id, reason, strategy, delayMs, maxDelayMs, jitter]);
          blocked.add(row.key);
        }
      }
    }
    return handled;
  }

  /**
   * A destination that hangs must not stall the relay: it fails after deliveryTimeoutMs.
   * The delivery runs in a producer span continuing the trace the row was written in.
   */
  private deliverWithin(row: Row): Promise<void> {
    return traceRelay(this.destination, row.message_id, row.headers, () => this.deliverOrTimeOut(row));
  }

  private deliverOrTimeOut(row: Row): Promise<void> {
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.options.deliveryTimeoutMs} ms`)),
        this.options.deliveryTimeoutMs,
      );
    });
    const delivery = this.deliver({
      id: row.message_id,
      destination: this.destination,
      key: row.key,
      pattern: row.pattern,
      data: row.data,
      attempt: row.attempts + 1,
      headers: injectTraceContext({}),
    });
    return Promise.race([delivery, timeout]).finally(() => clearTimeout(timer));
  }
}
