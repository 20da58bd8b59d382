import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, statsOf, type TestBroker } from '../rest/broker';
import { bearer, TEST_ADMIN_KEY } from '../support/auth';

let broker: TestBroker;
/** MAILROOM_AUTH=none: only the content-type check stands between a web page and the queues. */
let open: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
  open = await startBroker({ auth: { mode: 'none', rateLimit: 0 } });
});
afterAll(async () => {
  await open?.close();
  await broker?.close();
});

/**
 * What a page on another site can make a browser send without a CORS preflight: a form or
 * text/plain body (or none), no custom headers, and no Authorization.
 */
function crossSite(target: TestBroker, path: string, contentType: string, body = ''): Promise<Response> {
  return fetch(`${target.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType, origin: 'https://evil.example' },
    body,
  });
}

describe('cross-site simple requests', () => {
  for (const [label, target] of [
    ['with keys (default)', () => broker],
    ['even with MAILROOM_AUTH=none', () => open],
  ] as const) {
    it(`cannot inject a message or purge a queue ${label}`, async () => {
      const b = target();
      await b.call('PUT', '/v1/queues/victim', {});
      await b.call('POST', '/v1/queues/victim/messages', { body: 'kept' });
      const expected = b === broker ? 401 : 415;
      const inject = await crossSite(b, '/v1/queues/victim/messages', 'text/plain', '{"body":"injected"}');
      expect(inject.status).toBe(expected);
      const form = await crossSite(b, '/v1/queues/victim/messages', 'application/x-www-form-urlencoded', 'body=x');
      expect(form.status).toBe(expected);
      // A body-less form post: only its content-type gives it away.
      const purge = await crossSite(b, '/v1/queues/victim/purge', 'text/plain');
      expect(purge.status).toBe(expected);
      expect(await statsOf(b, 'victim')).toMatchObject({ available: 1 });
    });
  }

  it('answers no CORS headers unless origins are configured', async () => {
    const preflight = await fetch(`${broker.url}/v1/queues`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(`${broker.url}/v1/queues`, { headers: { ...bearer(), origin: 'https://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the configured origins (MAILROOM_CORS_ORIGINS)', async () => {
    const cors = await startBroker({ corsOrigins: ['https://app.example'] });
    try {
      const preflight = (origin: string) =>
        fetch(`${cors.url}/v1/queues`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'authorization',
          },
        });
      expect((await preflight('https://app.example')).headers.get('access-control-allow-origin')).toBe(
        'https://app.example',
      );
      expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await cors.close();
    }
  });
});

describe('rate limits', () => {
  it('answer 429 with Retry-After once a key spends its budget; other keys are unaffected', async () => {
    const small = await startBroker({ auth: { mode: 'keys', adminKey: TEST_ADMIN_KEY, rateLimit: 5 } });
    try {
      const other = (await small.call('POST', '/v1/keys', { name: 'other', scopes: ['manage:*'] })).body.key;
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      // 5 a second with bursts of 5: 50 back to back cannot all pass.
      for (let i = 0; i < 50 && retryAfter === null; i += 1) {
        const response = await fetch(`${small.url}/v1/queues`, { headers: bearer() });
        statuses.push(response.status);
        if (response.status === 429) {
          retryAfter = response.headers.get('retry-after');
          expect(((await response.json()) as any).error.code).toBe('rate_limited');
        }
      }
      expect(statuses).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect((await small.callAs(other, 'GET', '/v1/queues')).status).toBe(200);
      expect((await fetch(`${small.url}/health`)).status).toBe(200);
    } finally {
      await small.close();
    }
  });
});

describe('dashboard login', () => {
  const login = (key: string) =>
    fetch(`${broker.url}/dashboard/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key }).toString(),
      redirect: 'manual',
    });

  it('serves its form without a key and refuses an unknown key (401, no cookie)', async () => {
    const page = await fetch(`${broker.url}/dashboard/login`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post" action="/dashboard/login">');
    const refused = await login('mrk_wrong-key-wrong-key-wrong-key-wrong');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('set-cookie')).toBeNull();
  });

  it('keeps a valid key in an HttpOnly, SameSite=Strict cookie that only /dashboard paths accept', async () => {
    const accepted = await login(TEST_ADMIN_KEY);
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get('location')).toBe('/dashboard');
    const cookie = accepted.headers.get('set-cookie')!;
    expect(cookie).toMatch(/; Path=\/dashboard; HttpOnly; SameSite=Strict$/);
    const sent = { cookie: cookie.split(';')[0] };
    expect((await fetch(`${broker.url}/dashboard`)).status).toBe(401);
    // Past authentication: the dashboard pages themselves are another part's (404 until mounted).
    expect((await fetch(`${broker.url}/dashboard`, { headers: sent })).status).not.toBe(401);
    expect((await fetch(`${broker.url}/v1/queues`, { headers: sent })).status).toBe(401);
  });
});
