import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, TEST_ADMIN_KEY } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { freePort, pgbouncerBinary, startPgbouncer, type Pgbouncer } from '../support/pgbouncer';
import { compiledBroker, startProcess } from '../support/processes';

/**
 * Issue 18: the broker behind PgBouncer 1.18 in transaction mode, configured from the
 * environment (README, "Behind PgBouncer"). The library's side is in pgbouncer.spec.ts.
 * Skipped only outside CI on a machine without pgbouncer (`.ci/run` installs it).
 */
const binary = pgbouncerBinary();
const inCi = Boolean(process.env.CI);

let db: TestDatabase;
let bouncer: Pgbouncer;

beforeAll(async () => {
  if (!binary && inCi) throw new Error('pgbouncer is not installed: .ci/run installs it with apt');
  if (!binary) return;
  db = await createTestDatabase();
  bouncer = await startPgbouncer(db.url, binary);
});
afterAll(async () => {
  await bouncer?.stop();
  await db?.drop();
});

describe.skipIf(!binary && !inCi)('the broker behind PgBouncer in transaction mode', () => {
  it('runs the broker through it: MAILROOM_PREPARED_STATEMENTS=off, DATABASE_DIRECT_URL for LISTEN', async () => {
    const port = await freePort();
    const broker = startProcess(compiledBroker(), {
      DATABASE_URL: bouncer.url,
      DATABASE_DIRECT_URL: db.url,
      MAILROOM_PREPARED_STATEMENTS: 'off',
      PORT: String(port),
      MAILROOM_ADMIN_KEY: TEST_ADMIN_KEY,
    });
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`http://127.0.0.1:${port}/v1${path}`, {
        method,
        headers: { ...bearer(), 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as any };
    };
    try {
      await broker.waitForLine(/Listening on/, 60_000);
      expect((await call('PUT', '/queues/http-orders', {})).status).toBe(201);
      const receiving = call('POST', '/queues/http-orders/receive', { max: 1, waitMs: 15_000 });
      const sent = await call('POST', '/queues/http-orders/messages', { body: { n: 1 } });
      expect(sent.status).toBe(201);
      const { body } = await receiving;
      expect(body.messages.map((m: { id: string }) => m.id)).toEqual([sent.body.id]);
      const acked = await call('POST', '/queues/http-orders/ack', { receipts: [body.messages[0].receipt] });
      expect(acked.body).toMatchObject({ acked: 1 });
      // Requests at once spread over PgBouncer's server connections, each authenticated by a
      // key lookup and sending in a group commit: a named statement anywhere on their path
      // is unknown on some server connection ("prepared statement ... does not exist").
      for (let round = 0; round < 5; round += 1) {
        const burst = await Promise.all(
          Array.from({ length: 40 }, (_, n) => call('POST', '/queues/http-orders/messages', { body: { round, n } })),
        );
        expect(burst.filter((r) => r.status !== 201).map((r) => r.body)).toEqual([]);
      }
      const listening = await db.dataSource.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'mailroom-listen' AND client_port IS NOT NULL`,
      );
      expect(listening[0].n).toBeGreaterThan(0);
    } finally {
      await broker.kill('SIGTERM');
    }
  });
});
