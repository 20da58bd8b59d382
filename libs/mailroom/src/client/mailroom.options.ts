import type { DataSource } from 'typeorm';
import { assertInteger, assertName } from '../errors/validate';
import { resolveOutboxOptions, type OutboxOptions, type ResolvedOutboxOptions } from '../outbox/outbox.options';

export interface MailroomOptions {
  /** The DataSource Mailroom stores its tables in; default: the app's default TypeORM DataSource. */
  dataSource?: DataSource;
  /** Fallback poll while waiting for messages, in case a wake-up is missed (ms, default 1000). */
  pollIntervalMs?: number;
  /** How often the lease reaper looks for expired leases (ms, default 1000). */
  reaperIntervalMs?: number;
  /** How often dedup entries, retention and deleted queues are cleaned up (ms, default 30000). */
  janitorIntervalMs?: number;
  /** Consumer name used when a receive names none (default "default"). */
  defaultConsumer?: string;
  /** How long exactly-once consumers remember processed message ids (ms, default 7 days, at least 1 hour). */
  inboxRetentionMs?: number;
  /**
   * Release pull sessions' leases on close (default true). A broker sets false: its HTTP
   * consumers hold receipts across a broker restart and settle them on any node; their
   * leases expire by themselves if they do not.
   */
  releaseLeasesOnClose?: boolean;
  /** External destinations relayed from the transactional outbox (client.outbox(name)). */
  outbox?: OutboxOptions;
}

type Scalars = Required<Omit<MailroomOptions, 'dataSource' | 'outbox'>>;
export type ResolvedMailroomOptions = Scalars & { outbox: ResolvedOutboxOptions | null };

const DEFAULTS: Scalars = {
  pollIntervalMs: 1_000,
  reaperIntervalMs: 1_000,
  janitorIntervalMs: 30_000,
  defaultConsumer: 'default',
  inboxRetentionMs: 7 * 86_400_000,
  releaseLeasesOnClose: true,
};

/** Fails fast at start with the option's name and what it allows. */
export function resolveMailroomOptions(options: MailroomOptions): ResolvedMailroomOptions {
  const { dataSource: _dataSource, outbox, ...rest } = options;
  const resolved = { ...DEFAULTS, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
  for (const key of Object.keys(resolved)) {
    if (!(key in DEFAULTS))
      throw new Error(
        `Mailroom option "${key}" is unknown; allowed: dataSource, outbox, ${Object.keys(DEFAULTS).join(', ')}`,
      );
  }
  assertInteger(resolved.pollIntervalMs, 'pollIntervalMs', 10, 60_000);
  assertInteger(resolved.reaperIntervalMs, 'reaperIntervalMs', 10, 600_000);
  assertInteger(resolved.janitorIntervalMs, 'janitorIntervalMs', 100, 3_600_000);
  assertName(resolved.defaultConsumer, 'defaultConsumer');
  assertInteger(resolved.inboxRetentionMs, 'inboxRetentionMs', 3_600_000, 365 * 86_400_000);
  if (typeof resolved.releaseLeasesOnClose !== 'boolean')
    throw new Error('Mailroom option "releaseLeasesOnClose" must be a boolean');
  return { ...(resolved as Scalars), outbox: resolveOutboxOptions(outbox) };
}
