import { resolve } from 'node:path';
import { DEFAULT_TIMEOUTS, type DatabaseTimeouts } from './database/data-source-options';

/** The broker's settings, read once from the environment at start. */
export interface BrokerConfig {
  /** HTTP port (PORT, default 3000; 0 picks a free one). */
  port: number;
  /** DATABASE_URL; without it the broker starts an embedded PostgreSQL. */
  databaseUrl: string | undefined;
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
    databaseUrl: postgresUrl(env, 'DATABASE_URL'),
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

function postgresUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  const protocol = URL.canParse(value) ? new URL(value).protocol : null;
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new ConfigError(name, 'must be a URL like postgres://user:password@host:5432/database');
  }
  return value;
}
