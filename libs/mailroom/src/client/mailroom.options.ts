import type { ClientConfig } from 'pg';
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
  /**
   * Run Mailroom's statements as named prepared statements (default true). Set false when
   * the DataSource goes through a pooler in transaction mode that does not track them
   * (PgBouncer before 1.21): see README "Behind PgBouncer".
   */
  preparedStatements?: boolean;
  /**
   * A connection straight to PostgreSQL, not through a transaction pooler, for what needs
   * a session of its own: the LISTEN connection of wake-ups. A URL or `pg` settings;
   * default: the DataSource's own settings.
   */
  directConnection?: string | ClientConfig;
}

type Scalars = Required<Omit<MailroomOptions, 'dataSource' | 'outbox' | 'directConnection'>>;
export type ResolvedMailroomOptions = Scalars & {
  outbox: ResolvedOutboxOptions | null;
  directConnection: ClientConfig | null;
};

const DEFAULTS: Scalars = {
  pollIntervalMs: 1_000,
  reaperIntervalMs: 1_000,
  janitorIntervalMs: 30_000,
  defaultConsumer: 'default',
  inboxRetentionMs: 7 * 86_400_000,
  releaseLeasesOnClose: true,
  preparedStatements: true,
};

/** Fails fast at start with the option's name and what it allows. */
export function resolveMailroomOptions(options: MailroomOptions): ResolvedMailroomOptions {
  const { dataSource: _dataSource, outbox, directConnection, ...rest } = options;
  const resolved = { ...DEFAULTS, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
  for (const key of Object.keys(resolved)) {
    if (!(key in DEFAULTS))
      throw new Error(
        `Mailroom option "${key}" is unknown; allowed: dataSource, outbox, directConnection, ${Object.keys(DEFAULTS).join(', ')}`,
      );
  }
  assertInteger(resolved.pollIntervalMs, 'pollIntervalMs', 10, 60_000);
  assertInteger(resolved.reaperIntervalMs, 'reaperIntervalMs', 10, 600_000);
  assertInteger(resolved.janitorIntervalMs, 'janitorIntervalMs', 100, 3_600_000);
  assertName(resolved.defaultConsumer, 'defaultConsumer');
  assertInteger(resolved.inboxRetentionMs, 'inboxRetentionMs', 3_600_000, 365 * 86_400_000);
  for (const key of ['releaseLeasesOnClose', 'preparedStatements'] as const) {
    if (typeof resolved[key] !== 'boolean') throw new Error(`Mailroom option "${key}" must be a boolean`);
  }
  return {
    ...(resolved as Scalars),
    outbox: resolveOutboxOptions(outbox),
    directConnection: resolveDirectConnection(directConnection),
  };
}

function resolveDirectConnection(direct: MailroomOptions['directConnection']): ClientConfig | null {
  if (direct === undefined || direct === null) return null;
  if (typeof direct === 'object') return direct;
  const protocol = typeof direct === 'string' && URL.canParse(direct) ? new URL(direct).protocol : null;
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new Error(
      'Mailroom option "directConnection" must be a URL like postgres://user:password@host:5432/database or pg ClientConfig',
    );
  }
  return { connectionString: direct };
}
