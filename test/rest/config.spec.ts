import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      auth: { mode: 'keys', adminKey: undefined, rateLimit: 10_000 },
      corsOrigins: [],
      databaseUrl: undefined,
      databaseDirectUrl: undefined,
      preparedStatements: true,
      dataDir: resolve('.mailroom/pg'),
      pgPort: undefined,
      migrate: true,
      maxRequestBytes: undefined,
      timeouts: { statementMs: 10_000, lockMs: 5_000, connectMs: 5_000 },
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      MAILROOM_AUTH: 'none',
      MAILROOM_ADMIN_KEY: 'k'.repeat(32),
      MAILROOM_RATE_LIMIT: '0',
      MAILROOM_CORS_ORIGINS: 'https://a.example, http://localhost:8080',
      DATABASE_URL: 'postgresql://u:p@db:5432/mail',
      DATABASE_DIRECT_URL: 'postgresql://u:p@db-direct:5432/mail',
      MAILROOM_PREPARED_STATEMENTS: 'off',
      MAILROOM_DATA_DIR: '/tmp/pg',
      MAILROOM_PG_PORT: '5555',
      MAILROOM_MIGRATE: 'false',
      MAILROOM_MAX_REQUEST_BYTES: '1024',
      MAILROOM_STATEMENT_TIMEOUT_MS: '2000',
      MAILROOM_LOCK_TIMEOUT_MS: '0',
      MAILROOM_CONNECT_TIMEOUT_MS: '3000',
    });
    expect(config).toEqual({
      port: 8080,
      host: '0.0.0.0',
      auth: { mode: 'none', adminKey: 'k'.repeat(32), rateLimit: 0 },
      corsOrigins: ['https://a.example', 'http://localhost:8080'],
      databaseUrl: 'postgresql://u:p@db:5432/mail',
      databaseDirectUrl: 'postgresql://u:p@db-direct:5432/mail',
      preparedStatements: false,
      dataDir: '/tmp/pg',
      pgPort: 5555,
      migrate: false,
      maxRequestBytes: 1024,
      timeouts: { statementMs: 2000, lockMs: 0, connectMs: 3000 },
    });
  });

  it('treats a blank variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: ' ' })).toMatchObject({ databaseUrl: undefined, port: 3000 });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '3.5'],
    ['MAILROOM_PG_PORT', '0'],
    ['MAILROOM_MIGRATE', 'yes'],
    ['MAILROOM_MAX_REQUEST_BYTES', '64MB'],
    ['MAILROOM_STATEMENT_TIMEOUT_MS', '-1'],
    ['MAILROOM_LOCK_TIMEOUT_MS', '5s'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_DIRECT_URL', 'localhost:5432'],
    ['MAILROOM_PREPARED_STATEMENTS', 'false'],
  ])('fails fast naming %s for %j', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Environment variable ${name}\\b`));
  });

  it('does not echo DATABASE_URL, which may hold a password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db/x' })).toThrow(/^(?!.*hunter2)/);
  });
});
