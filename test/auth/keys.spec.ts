import type { LoggerService } from '@nestjs/common';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config';
import { attachBroker, startBroker, type TestBroker } from '../rest/broker';
import { TEST_ADMIN_KEY } from '../support/auth';

/** Every line the broker logs, at every level. */
class CapturedLogs implements LoggerService {
  readonly lines: string[] = [];
  log = (...parts: unknown[]) => this.lines.push(parts.map(String).join(' '));
  error = this.log;
  warn = this.log;
  debug = this.log;
  verbose = this.log;
  fatal = this.log;
}

let logs: CapturedLogs;
let broker: TestBroker;
let other: TestBroker;

beforeAll(async () => {
  logs = new CapturedLogs();
  broker = await startBroker({ nest: { logger: logs } });
  // A second broker process on the same database, as in a multi-node deployment.
  other = await attachBroker(broker.db, { nest: { logger: logs } });
});
afterAll(async () => {
  await other?.close();
  await broker?.close();
});

async function newKey(scopes: string[], name = 'app'): Promise<{ id: string; key: string }> {
  const { status, body } = await broker.call('POST', '/v1/keys', { name, scopes });
  expect(status).toBe(201);
  return body;
}

describe('API keys', () => {
  it('shows a key once, at creation; lists and the database hold no key material', async () => {
    const { id, key } = await newKey(['produce:orders'], 'shop');
    expect(key).toMatch(/^mrk_[A-Za-z0-9_-]{43}$/);
    const list = await broker.call('GET', '/v1/keys');
    expect(list.body.keys).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id, name: 'shop', scopes: ['produce:orders'], revokedAt: null }),
      ]),
    );
    const listed = JSON.stringify(list.body);
    expect(listed).not.toContain(key);
    expect(listed).not.toContain('scrypt');
    const [row] = await broker.db.dataSource.query(`SELECT t::text AS row FROM mailroom_api_key t WHERE id = $1`, [id]);
    expect(row.row).not.toContain(key);
    expect(row.row).toContain('scrypt$');
  });

  it('refuses bad scopes and names with 400, creating nothing', async () => {
    const before = (await broker.call('GET', '/v1/keys')).body.keys.length;
    for (const body of [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['publish:*'] },
      { name: 'x', scopes: ['produce:'] },
      { name: '', scopes: ['admin'] },
      { name: 'x', scopes: 'admin' },
    ]) {
      const reply = await broker.call('POST', '/v1/keys', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
    }
    expect((await broker.call('GET', '/v1/keys')).body.keys.length).toBe(before);
  });

  it('stops a revoked key at once on every broker sharing the database', async () => {
    const { id, key } = await newKey(['manage:*']);
    // Both brokers have verified (and cached) the key.
    expect((await broker.callAs(key, 'GET', '/v1/queues')).status).toBe(200);
    expect((await other.callAs(key, 'GET', '/v1/queues')).status).toBe(200);
    expect((await broker.call('DELETE', `/v1/keys/${id}`)).status).toBe(204);
    // The very next request, on either broker: no waiting for a notification.
    expect((await other.callAs(key, 'GET', '/v1/queues')).status).toBe(401);
    expect((await broker.callAs(key, 'GET', '/v1/queues')).status).toBe(401);
    expect((await broker.call('DELETE', `/v1/keys/${id}`)).body.error.code).toBe('key_not_found');
  });

  it('verifies a key once when its first requests arrive together: one scrypt, not one a request', async () => {
    const { key } = await newKey(['manage:*'], 'burst');
    const scrypt = vi.spyOn(crypto, 'scrypt');
    syncBuiltinESMExports(); // the broker's `import { scrypt }` sees the spy
    try {
      // `other` has never seen this key: each of these requests would verify it.
      const statuses = await Promise.all(
        Array.from({ length: 10 }, async () => (await other.callAs(key, 'GET', '/v1/queues')).status),
      );
      expect(statuses).toEqual(Array(10).fill(200));
      expect(scrypt).toHaveBeenCalledTimes(1);
    } finally {
      scrypt.mockRestore();
      syncBuiltinESMExports();
    }
  });

  it('records management and admin actions in the audit trail, before answering: who, what, target, when', async () => {
    const { id, key } = await newKey(['manage:audited-*'], 'ops-bot');
    expect((await broker.callAs(key, 'PUT', '/v1/queues/audited-1', {})).status).toBe(201);
    expect((await broker.callAs(key, 'POST', '/v1/queues/audited-1/purge')).status).toBe(200);
    // Written before each answer is sent: the caller that has its answer finds the entry.
    const { status, body } = await broker.call('GET', '/v1/audit?limit=2');
    expect(status).toBe(200);
    expect(body.entries).toEqual([
      expect.objectContaining({
        keyId: id,
        keyName: 'ops-bot',
        action: 'QueuesController_purge',
        target: '/v1/queues/audited-1/purge',
        status: 200,
      }),
      expect.objectContaining({
        keyId: id,
        keyName: 'ops-bot',
        action: 'QueuesController_put',
        target: '/v1/queues/audited-1',
        status: 201,
      }),
    ]);
    expect(new Date(body.entries[0].at).getTime()).not.toBeNaN();
    expect((await broker.callAs(key, 'GET', '/v1/audit')).status).toBe(403);
  });

  it('never logs key material, whatever happens to keys', async () => {
    const { id, key } = await newKey(['consume:*']);
    await broker.callAs(key, 'GET', '/v1/queues');
    await broker.callAs(`${key}x`, 'GET', '/v1/queues');
    await broker.call('DELETE', `/v1/keys/${id}`);
    await broker.callAs(key, 'GET', '/v1/queues');
    expect(logs.lines.length).toBeGreaterThan(0);
    for (const line of logs.lines) {
      expect(line).not.toContain(key);
      expect(line).not.toContain(TEST_ADMIN_KEY);
    }
  });

  it('keeps /health open and /docs, /docs-json behind a key', async () => {
    expect((await broker.callAs(null, 'GET', '/health')).status).toBe(200);
    expect((await fetch(`${broker.url}/docs`)).status).toBe(401);
    expect((await broker.callAs(null, 'GET', '/docs-json')).status).toBe(401);
    expect((await broker.call('GET', '/docs-json')).status).toBe(200);
  });

  it('declares the bearer security scheme in OpenAPI, for every operation but /health', async () => {
    const { body } = await broker.call('GET', '/docs-json');
    expect(body.components.securitySchemes).toEqual({
      apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    expect(body.security).toEqual([{ apiKey: [] }]);
    expect(body.paths['/health'].get.security).toEqual([]);
  });
});

describe('the first key', () => {
  it('is created and printed once when none is configured or stored; the next start prints none', async () => {
    const first = new CapturedLogs();
    const fresh = await startBroker({ auth: { mode: 'keys', rateLimit: 0 }, nest: { logger: first } });
    try {
      const printed = first.lines
        .map((line) => /created an admin key, shown only now: (mrk_\S+)/.exec(line)?.[1])
        .filter(Boolean);
      expect(printed).toHaveLength(1);
      expect((await fresh.callAs(printed[0]!, 'GET', '/v1/keys')).status).toBe(200);
      const second = new CapturedLogs();
      const again = await attachBroker(fresh.db, { auth: { mode: 'keys', rateLimit: 0 }, nest: { logger: second } });
      await again.close();
      expect(second.lines.join('\n')).not.toContain('mrk_');
    } finally {
      await fresh.close();
    }
  });

  it('MAILROOM_ADMIN_KEY must be at least 32 characters: a clear start error that does not echo it', () => {
    expect(() => loadConfig({ MAILROOM_ADMIN_KEY: 'short-secret' })).toThrow(/MAILROOM_ADMIN_KEY.*at least 32/);
    expect(() => loadConfig({ MAILROOM_ADMIN_KEY: 'short-secret' })).not.toThrow(/short-secret/);
  });
});
