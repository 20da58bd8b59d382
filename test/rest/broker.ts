import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createBrokerApp, type BrokerAppOptions } from '../../src/app.factory';
import { bearer, TEST_ADMIN_KEY } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';

/** A response as the tests read it: status and parsed JSON (null when there is no body). */
export interface Reply<T = any> {
  status: number;
  body: T;
}

export interface TestBroker {
  url: string;
  db: TestDatabase;
  /**
   * Sends `body` as JSON with the test admin key; `init` overrides it (e.g. a raw body of
   * malformed JSON; its headers are added to the key's).
   */
  call<T = any>(method: string, path: string, body?: unknown, init?: RequestInit): Promise<Reply<T>>;
  /** As call, with `key` (null: no Authorization header at all). */
  callAs<T = any>(
    key: string | null,
    method: string,
    path: string,
    body?: unknown,
    init?: RequestInit,
  ): Promise<Reply<T>>;
  close(): Promise<void>;
}

export const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * The real broker app on its own database (on `serverUrl`, default the tests' server),
 * listening on an ephemeral port; `options` override the test settings.
 */
export async function startBroker(options: Partial<BrokerAppOptions> = {}, serverUrl?: string): Promise<TestBroker> {
  const db = await createTestDatabase(serverUrl);
  try {
    const broker = await attachBroker(db, options);
    return { ...broker, close: () => broker.close().finally(() => db.drop()) };
  } catch (error) {
    await db.drop();
    throw error;
  }
}

/**
 * Another broker process's app on an existing database (as several brokers share one in
 * production); close() stops only this app.
 */
export async function attachBroker(db: TestDatabase, options: Partial<BrokerAppOptions> = {}): Promise<TestBroker> {
  let app: INestApplication | undefined;
  try {
    app = await createBrokerApp({
      databaseUrl: db.url,
      migrate: true,
      maxRequestBytes: MAX_REQUEST_BYTES,
      mailroom: { reaperIntervalMs: 100, pollIntervalMs: 200 },
      nest: { logger: ['error', 'warn'] },
      // Tests count requests by the hundred: no rate limit unless a test sets one.
      auth: { mode: 'keys', adminKey: TEST_ADMIN_KEY, rateLimit: 0 },
      ...options,
    });
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app?.close();
    throw error;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const callAs: TestBroker['callAs'] = async (key, method, path, body, init = {}) => {
    const headers = {
      ...(key === null ? {} : bearer(key)),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers as Record<string, string> | undefined),
    };
    const response = await fetch(`${url}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      ...init,
      headers,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  return {
    url,
    db,
    call: (method, path, body, init) => callAs(TEST_ADMIN_KEY, method, path, body, init),
    callAs,
    close: () => app.close(),
  };
}

/** A queue's message counts, read through the API. */
export async function statsOf(broker: TestBroker, queue: string) {
  const { body } = await broker.call('GET', `/v1/queues/${queue}`);
  return body.stats as { available: number; inFlight: number; delayed: number; exhausted: number };
}

/**
 * How many receives of `queue` are waiting for messages in the broker (its
 * `mailroom_long_polls_waiting` gauge): what a test waits on instead of sleeping until a
 * long-poll has reached the broker, or until the broker noticed its client went away.
 */
export async function longPollsWaiting(broker: TestBroker, queue: string): Promise<number> {
  const response = await fetch(`${broker.url}/metrics`, { headers: bearer() });
  const series = `mailroom_long_polls_waiting{queue="${queue}"} `;
  const line = (await response.text()).split('\n').find((l) => l.startsWith(series));
  return line === undefined ? 0 : Number(line.slice(series.length));
}

let counter = 0;
/** A queue name no other test in the file uses. */
export function uniqueName(prefix = 'q'): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * A new queue holding `count` dead letters (bodies 0 … count-1, in order), made the quick
 * way: each message is received and nacked with deadLetter (reason "rejected").
 */
export async function queueWithDeadLetters(broker: TestBroker, count: number, prefix = 'dl'): Promise<string> {
  const queue = uniqueName(prefix);
  await broker.call('PUT', `/v1/queues/${queue}`, {});
  for (let sent = 0; sent < count; sent += 1000) {
    const messages = Array.from({ length: Math.min(1000, count - sent) }, (_, i) => ({ body: sent + i }));
    await broker.call('POST', `/v1/queues/${queue}/messages`, { messages });
  }
  for (let buried = 0; buried < count;) {
    const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, { max: 100 });
    const receipts = body.messages.map((m: { receipt: string }) => m.receipt);
    if (receipts.length === 0) throw new Error(`${queue}: only ${buried} of ${count} messages to dead-letter`);
    await broker.call('POST', `/v1/queues/${queue}/nack`, { receipts, deadLetter: true, reason: 'boom' });
    buried += receipts.length;
  }
  return queue;
}
