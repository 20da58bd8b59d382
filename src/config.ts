import { resolve } from 'node:path';
import { DEFAULT_RATE_LIMIT, type AuthOptions } from './auth/auth.options';
import { DEFAULT_TIMEOUTS, type DatabaseTimeouts } from './database/data-source-options';

/** The broker's settings, read once from the environment at start. */
export interface BrokerConfig {
  /** HTTP port (PORT, default 3000; 0 picks a free one). */
  port: number;
  /** HOST: the interface to listen on; default 127.0.0.1 (this machine only). */
  host: string;
  /** MAILROOM_AUTH, MAILROOM_ADMIN_KEY, MAILROOM_RATE_LIMIT (see AuthOptions). */
  auth: AuthOptions;
  /** MAILROOM_CORS_ORIGINS: comma-separated origins browsers may call the API from; default none. */
  corsOrigins: string[];
  /** DATABASE_URL; without it the broker starts an embedded PostgreSQL. */
  databaseUrl: string | undefined;
  /**
   * DATABASE_DIRECT_URL: PostgreSQL itself, when DATABASE_URL is a transaction pooler
   * (PgBouncer): the LISTEN connection of wake-ups goes here. Default: DATABASE_URL.
   */
  databaseDirectUrl: string | undefined;
  /**
   * MAILROOM_PREPARED_STATEMENTS (on|off, default on): off when DATABASE_URL is a pooler in
   * transaction mode without prepared-statement support (PgBouncer before 1.21).
   */
  preparedStatements: boolean;
  /** MAILROOM_DATA_DIR: the embedded PostgreSQL's data folder (absolute). */
  dataDir: string;
  /** MAILROOM_PG_PORT: the embedded PostgreSQL's port; default a free one. */
  pgPort: number | undefined;
  /** MAILROOM_MIGRATE: run pending migrations at start (default true). */
  migrate: boolean;
  /**
   * MAILROOM_MAX_REQUEST_BYTES: largest accepted JSON request body. Unset: the largest
   * maxMessageBytes of any queue plus room for a batch's framing (see app.factory.ts).
   */
  maxRequestBytes: number | undefined;
  /** The broker's database limits (see DatabaseTimeouts). */
  timeouts: DatabaseTimeouts;
}

/** A bad environment variable; the message names it and what it allows. */
export class ConfigError extends Error {
  /** `value` is left out when it may hold a secret. */
  constructor(variable: string, allowed: string, value?: string) {
    const shown = value === undefined ? variable : `${variable}="${value}"`;
    super(`Environment variable ${shown} is invalid: ${allowed}.`);
    this.name = 'ConfigError';
  }
}

const MIB = 1024 * 1024;
const INT4_MAX = 2_147_483_647;

/** Validates everything up front, so a typo fails the start instead of a later request. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  return {
    port: integer(env, 'PORT', 0, 65_535) ?? 3000,
    host: read(env, 'HOST') ?? '127.0.0.1',
    auth: {
      mode: oneOf(env, 'MAILROOM_AUTH', ['keys', 'none']) ?? 'keys',
      adminKey: adminKey(env),
      rateLimit: integer(env, 'MAILROOM_RATE_LIMIT', 0, 1_000_000) ?? DEFAULT_RATE_LIMIT,
    },
    corsOrigins: origins(env, 'MAILROOM_CORS_ORIGINS'),
    databaseUrl: postgresUrl(env, 'DATABASE_URL'),
    databaseDirectUrl: postgresUrl(env, 'DATABASE_DIRECT_URL'),
    preparedStatements: (oneOf(env, 'MAILROOM_PREPARED_STATEMENTS', ['on', 'off']) ?? 'on') === 'on',
    dataDir: resolve(read(env, 'MAILROOM_DATA_DIR') ?? './.mailroom/pg'),
    pgPort: integer(env, 'MAILROOM_PG_PORT', 1, 65_535),
    migrate: boolean(env, 'MAILROOM_MIGRATE') ?? true,
    maxRequestBytes: integer(env, 'MAILROOM_MAX_REQUEST_BYTES', 1, 1024 * MIB),
    timeouts: {
      statementMs: integer(env, 'MAILROOM_STATEMENT_TIMEOUT_MS', 0, INT4_MAX) ?? DEFAULT_TIMEOUTS.statementMs,
      lockMs: integer(env, 'MAILROOM_LOCK_TIMEOUT_MS', 0, INT4_MAX) ?? DEFAULT_TIMEOUTS.lockMs,
      connectMs: integer(env, 'MAILROOM_CONNECT_TIMEOUT_MS', 0, INT4_MAX) ?? DEFAULT_TIMEOUTS.connectMs,
    },
  };
}

/** Empty counts as unset, as env files and compose often leave a variable declared but blank. */
function read(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integer(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}`, value);
  }
  return parsed;
}

function boolean(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ConfigError(name, 'must be true or false', value);
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): T | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(name, `must be one of ${allowed.join(', ')}`, value);
}

/** Never echoed: the message says what is wrong, not the value. */
function adminKey(env: NodeJS.ProcessEnv): string | undefined {
  const value = read(env, 'MAILROOM_ADMIN_KEY');
  if (value !== undefined && (value.length < 32 || /\s/.test(value))) {
    throw new ConfigError(
      'MAILROOM_ADMIN_KEY',
      'must be at least 32 characters without spaces (e.g. openssl rand -hex 32)',
    );
  }
  return value;
}

function origins(env: NodeJS.ProcessEnv, name: string): string[] {
  const value = read(env, name);
  if (value === undefined) return [];
  const list = value.split(',').map((origin) => origin.trim());
  for (const origin of list) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      throw new ConfigError(name, 'must be comma-separated origins like https://app.example.com', value);
    }
  }
  return list;
}

function postgresUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  const protocol = URL.canParse(value) ? new URL(value).protocol : null;
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new ConfigError(name, 'must be a URL like postgres://user:password@host:5432/database');
  }
  return value;
}
