import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../rest/broker';

/**
 * Each scope allows exactly what it names. The endpoints come from the OpenAPI document, and
 * every one must be in NEEDS: a new endpoint fails this test until someone decides its scope.
 *
 * `read`: any of produce, consume or manage on the name. A route on no name (a list) needs
 * the action on every name: only a `*` pattern grants it.
 */
type Need = 'produce' | 'consume' | 'manage' | 'read' | 'admin';
const NEEDS: Record<string, { need: Need; everyName?: true }> = {
  'PUT /v1/queues/{name}': { need: 'manage' },
  'GET /v1/queues': { need: 'manage', everyName: true },
  'GET /v1/queues/{name}': { need: 'read' },
  'POST /v1/queues/{name}/pause': { need: 'manage' },
  'POST /v1/queues/{name}/resume': { need: 'manage' },
  'POST /v1/queues/{name}/purge': { need: 'manage' },
  'DELETE /v1/queues/{name}': { need: 'manage' },
  'POST /v1/queues/{name}/messages': { need: 'produce' },
  'POST /v1/queues/{name}/receive': { need: 'consume' },
  'POST /v1/queues/{name}/ack': { need: 'consume' },
  'POST /v1/queues/{name}/nack': { need: 'consume' },
  'POST /v1/queues/{name}/extend': { need: 'consume' },
  'GET /v1/queues/{name}/dead-letters': { need: 'manage' },
  'GET /v1/queues/{name}/dead-letters/{id}': { need: 'manage' },
  'POST /v1/queues/{name}/dead-letters/redrive': { need: 'manage' },
  'POST /v1/queues/{name}/dead-letters/purge': { need: 'manage' },
  'PUT /v1/topics/{topic}': { need: 'manage' },
  'GET /v1/topics': { need: 'manage', everyName: true },
  'GET /v1/topics/{topic}': { need: 'read' },
  'POST /v1/topics/{topic}/messages': { need: 'produce' },
  'PUT /v1/topics/{topic}/subscriptions/{name}': { need: 'manage' },
  'POST /v1/topics/{topic}/subscriptions/{name}/pause': { need: 'manage' },
  'POST /v1/topics/{topic}/subscriptions/{name}/resume': { need: 'manage' },
  'DELETE /v1/topics/{topic}/subscriptions/{name}': { need: 'manage' },
  'POST /v1/producers/{id}/init': { need: 'produce' },
  'GET /v1/workflows': { need: 'manage', everyName: true },
  'GET /v1/workflows/{name}/unmappable': { need: 'manage' },
  'GET /v1/workflows/{name}/instances': { need: 'read' },
  'GET /v1/workflows/{name}/instances/{key}': { need: 'read' },
  'GET /v1/workflows/{name}/instances/{key}/diagram': { need: 'read' },
  'POST /v1/workflows/{name}/instances/{key}/events': { need: 'produce' },
  'POST /v1/workflows/{name}/instances/{key}/cancel': { need: 'manage' },
  'POST /v1/workflows/{name}/instances/{key}/retry': { need: 'manage' },
  'POST /v1/keys': { need: 'admin' },
  'GET /v1/keys': { need: 'admin' },
  'DELETE /v1/keys/{id}': { need: 'admin' },
  'GET /v1/audit': { need: 'admin' },
  'POST /v1/receipt-secrets/rotate': { need: 'admin' },
};

/** The keys of the matrix: each action on the names the requests use, on other names, and on every name. */
const SCOPES: Record<string, string[]> = {
  'produce:mx-*': ['produce:mx-*'],
  'consume:mx-*': ['consume:mx-*'],
  'manage:mx-*': ['manage:mx-*'],
  'produce:*': ['produce:*'],
  'consume:*': ['consume:*'],
  'manage:*': ['manage:*'],
  'produce,consume,manage:other-*': ['produce:other-*', 'consume:other-*', 'manage:other-*'],
  admin: ['admin'],
};

function expected(need: Need, everyName: boolean, scope: string): boolean {
  if (need === 'admin') return scope === 'admin';
  const matching = everyName
    ? ['produce:*', 'consume:*', 'manage:*']
    : Object.keys(SCOPES).filter((s) => /:(mx-)?\*$/.test(s));
  const actions = need === 'read' ? ['produce', 'consume', 'manage'] : [need];
  return matching.includes(scope) && actions.some((action) => scope.startsWith(`${action}:`));
}

/** Path parameters: every name the scopes are about starts with mx-. */
const PARAMS: Record<string, string> = { name: 'mx-a', topic: 'mx-t', id: 'mx-p', key: 'k1' };

let broker: TestBroker;
const keys: Record<string, string> = {};

beforeAll(async () => {
  broker = await startBroker();
  for (const [label, scopes] of Object.entries(SCOPES)) {
    const { status, body } = await broker.call('POST', '/v1/keys', { name: label, scopes });
    expect(status).toBe(201);
    keys[label] = body.key;
  }
});
afterAll(async () => {
  await broker?.close();
});

describe('scopes', () => {
  it('every endpoint in the OpenAPI document has a decided scope (and nothing else is listed)', async () => {
    const { body } = await broker.call('GET', '/docs-json');
    const operations = Object.entries(body.paths as Record<string, object>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.filter((op) => op !== 'GET /health').sort()).toEqual(Object.keys(NEEDS).sort());
  });

  it('each scope allows exactly what it names, on every endpoint', async () => {
    const mismatches: string[] = [];
    for (const [operation, { need, everyName }] of Object.entries(NEEDS)) {
      const [method, template] = operation.split(' ');
      const path = template.replace(/\{(\w+)\}/g, (_, param: string) =>
        param === 'id' && template.includes('dead-letters') ? '00000000-0000-4000-8000-000000000000' : PARAMS[param],
      );
      for (const label of Object.keys(SCOPES)) {
        const body = method === 'GET' || method === 'DELETE' ? undefined : {};
        const { status } = await broker.callAs(keys[label], method, path, body);
        expect(status, `${operation} as ${label}`).not.toBe(401);
        const allowed = status !== 403;
        if (allowed !== expected(need, everyName === true, label)) {
          mismatches.push(`${operation} as ${label}: ${status}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('refuses every /v1 endpoint without a key, and with an unknown one', async () => {
    for (const operation of Object.keys(NEEDS)) {
      const [method, template] = operation.split(' ');
      const path = template.replace(/\{(\w+)\}/g, (_, param: string) => PARAMS[param]);
      expect((await broker.callAs(null, method, path)).status, operation).toBe(401);
      expect((await broker.callAs('mrk_not-a-key-of-this-broker-at-all', method, path)).status, operation).toBe(401);
    }
  });

  it('checks scopes however the path is spelt (Express matches routes case-insensitively)', async () => {
    for (const path of ['/V1/queues/mx-a/purge', '/v1/QUEUES/mx-a/purge', '/v1/queues/mx-a/purge/']) {
      expect((await broker.callAs(keys['consume:mx-*'], 'POST', path)).status, path).toBe(403);
    }
  });

  it('refuses a key without the scope with 403 forbidden, naming what it needs', async () => {
    const reply = await broker.callAs(keys['consume:mx-*'], 'POST', '/v1/queues/mx-a/purge');
    expect(reply.status).toBe(403);
    expect(reply.body.error).toMatchObject({ code: 'forbidden' });
    expect(reply.body.error.message).toContain('manage:mx-a');
  });
});
