import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../support/database';
import { compiledBroker, startProcess, type RunningProcess } from '../support/processes';
import { until } from '../support/wait';

/** The compiled broker, stdout piped (not a terminal): every line is a JSON object, no secrets, no bodies. */

let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
let broker: RunningProcess;
let url: string;
const lines: string[] = [];

beforeAll(async () => {
  db = await createEmptyDatabase();
  broker = startProcess(compiledBroker(), {
    DATABASE_URL: db.url,
    PORT: '0',
    MAILROOM_LOG_FORMAT: '',
    MAILROOM_ADMIN_KEY: SECRET,
  });
  broker.onLine((line) => lines.push(line));
  const [, port] = await broker.waitForLine(/Listening on http:\/\/localhost:(\d+)/);
  url = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await broker?.kill('SIGTERM');
  await db?.drop();
});

// The broker's admin key, sent with every request: it must never reach the log.
const SECRET = 'mr_live_do-not-log-me-0123456789abcdef0123456789';
const BODY = 'a-body-nobody-should-see';

describe('broker logs', () => {
  it('writes JSON lines, one request line per call with method, route, status and duration', async () => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${SECRET}`, 'x-api-key': SECRET };
    await fetch(`${url}/v1/queues/logged`, { method: 'PUT', headers, body: '{}' });
    await fetch(`${url}/v1/queues/logged/messages`, { method: 'POST', headers, body: JSON.stringify({ body: BODY }) });
    await fetch(`${url}/v1/queues/missing-queue?x=1`, { headers });
    await until(() => lines.filter((l) => l.includes('"request"')).length >= 3);

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.every((e) => typeof e.level === 'number' && typeof e.time === 'number')).toBe(true);
    const requests = entries.filter((e) => e.msg === 'request');
    expect(requests.map(({ method, route, status }) => ({ method, route, status }))).toEqual([
      { method: 'PUT', route: '/v1/queues/:name', status: 201 },
      { method: 'POST', route: '/v1/queues/:name/messages', status: 201 },
      { method: 'GET', route: '/v1/queues/:name', status: 404 },
    ]);
    expect(requests.every((r) => typeof r.durationMs === 'number' && r.context === 'HTTP')).toBe(true);
    const all = lines.join('\n');
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(BODY);
    expect(all).not.toContain('\u001b['); // no colour codes in a log file
  });

  it('refuses a log level it does not know, naming the variable', async () => {
    const bad = startProcess(compiledBroker(), { DATABASE_URL: db.url, PORT: '0', MAILROOM_LOG_LEVEL: 'loud' });
    const stderr: string[] = [];
    bad.child.stderr!.on('data', (chunk) => stderr.push(String(chunk)));
    const code = await new Promise((resolve) => bad.child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.join('') + '').toMatch(/MAILROOM_LOG_LEVEL must be one of trace, debug, info/);
  });
});
