import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/database/embedded-postgres';
import { startBroker, type Reply, type TestBroker } from '../rest/broker';
import { until } from '../support/wait';

// A Postgres of this file's own, so freezing it disturbs no other test file.
let dir: string;
let server: EmbeddedServer;
let broker: TestBroker;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-freeze-'));
  server = await startEmbeddedPostgres({ dataDir: dir });
  broker = await startBroker({ timeouts: { statementMs: 2_000, lockMs: 1_000, connectMs: 1_000 } }, server.url);
});
afterAll(async () => {
  await broker?.close().catch(() => undefined);
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The postmaster and every backend it started: all of Postgres, as SIGSTOP should find it. */
function postgresProcesses(): number[] {
  const postmaster = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' });
  return [postmaster, ...children.split('\n').filter(Boolean).map(Number)];
}

/** The client gives up after `deadlineMs`: null means the broker had not answered by then. */
async function within(deadlineMs: number, request: Promise<Reply>): Promise<Reply | null> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), deadlineMs)));
  try {
    return await Promise.race([request, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Postgres frozen (SIGSTOP)', () => {
  it('answers sends and /health with 503 within their deadline, and recovers when it thaws', async () => {
    await broker.call('PUT', '/v1/queues/frozen', {});
    expect((await broker.call('POST', '/v1/queues/frozen/messages', { body: 'before' })).status).toBe(201);
    const frozen = postgresProcesses();
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      const replies = await Promise.all([
        ...Array.from({ length: 3 }, (_, i) =>
          within(15_000, broker.call('POST', '/v1/queues/frozen/messages', { body: i })),
        ),
        within(15_000, broker.call('GET', '/health')),
      ]);
      for (const reply of replies) {
        expect(reply, 'answered before the client gave up').not.toBeNull();
        expect(reply!.status).toBe(503);
      }
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    await until(
      async () => (await broker.call('POST', '/v1/queues/frozen/messages', { body: 'after' })).status === 201,
    );
  }, 60_000);
});
