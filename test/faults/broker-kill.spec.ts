import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { compiledBroker, startProcess, type RunningProcess } from '../support/processes';
import { sleep, until } from '../support/wait';
import { bearer, TEST_ADMIN_KEY } from '../support/auth';

/**
 * Issue: killing the broker process (SIGKILL) mid-stream and starting it again loses no
 * committed message. An HTTP producer and consumer keep going through two broker
 * crashes; every send the broker acknowledged must be received in the end.
 */
let db: TestDatabase;
let broker: RunningProcess;
let url: string;
let port: number;
/** The producer sends at least this many messages (the test asserts more than 100 acknowledged). */
const SENDS = 120;

const idOf = (n: number) => {
  const hex = createHash('sha1').update(`broker-kill/${n}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

async function startBroker(): Promise<RunningProcess> {
  const process = startProcess(compiledBroker(), {
    DATABASE_URL: db.url,
    PORT: String(port),
    MAILROOM_ADMIN_KEY: TEST_ADMIN_KEY,
  });
  await process.waitForLine(/Listening on/);
  return process;
}

async function call(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, {
    method: path.endsWith('/orders') ? 'PUT' : 'POST',
    headers: { ...bearer(), 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  db = await createTestDatabase();
  port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
  url = `http://127.0.0.1:${port}`;
  broker = await startBroker();
  expect((await call('/v1/queues/orders', { leaseMs: 1_000 })).status).toBe(201);
});
afterAll(async () => {
  await broker?.kill('SIGTERM');
  await db?.drop();
});

describe('broker killed mid-stream', () => {
  it('loses no acknowledged message across SIGKILLs and restarts', { timeout: 90_000 }, async () => {
    const acked = new Set<string>();
    const received = new Set<string>();
    let producing = true;
    let failures = 0;
    const producer = (async () => {
      for (let n = 0; producing; n += 1) {
        for (;;) {
          // Resend the same id until acknowledged: a send that committed before the crash is a duplicate.
          const reply = await call('/v1/queues/orders/messages', { id: idOf(n), body: { n } }).catch(() => null);
          if (reply?.status === 201) {
            acked.add(reply.body.id);
            break;
          }
          failures += 1;
          await sleep(50); // a client's back-off before it retries, not synchronisation
        }
      }
    })();
    let consuming = true;
    const consumer = (async () => {
      while (consuming) {
        const reply = await call('/v1/queues/orders/receive', { max: 20, waitMs: 500 }).catch(() => null);
        if (reply?.status !== 200) {
          await sleep(50); // a client's back-off before it retries, not synchronisation
          continue;
        }
        const { messages } = reply.body as { messages: { id: string; receipt: string }[] };
        // Delivered is what counts: an ack whose answer died with the broker may still have committed.
        messages.forEach((m) => received.add(m.id));
        if (messages.length > 0) {
          await call('/v1/queues/orders/ack', { receipts: messages.map((m) => m.receipt) }).catch(() => null);
        }
      }
    })();

    // Bounded by count, not time: each crash comes after 40 more acknowledged sends, and the
    // producer stops after 40 more past the last restart, however slow the machine is.
    for (let crash = 1; crash <= 2; crash += 1) {
      await until(() => acked.size >= 40 * crash, 60_000);
      await broker.kill('SIGKILL');
      broker = await startBroker();
    }
    const afterRestarts = acked.size;
    await until(() => acked.size >= Math.max(SENDS, afterRestarts + 40), 60_000);
    producing = false;
    await producer;
    await until(() => [...acked].every((id) => received.has(id)), 30_000).catch(() => undefined); // `lost` names the rest
    consuming = false;
    await consumer;

    const lost = [...acked].filter((id) => !received.has(id));
    console.log(
      `broker kill: 2 SIGKILLs, ${acked.size} acknowledged, ${failures} failed sends retried, ${lost.length} lost`,
    );
    expect(failures).toBeGreaterThan(0);
    expect(acked.size).toBeGreaterThan(100);
    expect(lost).toEqual([]);
  });
});
