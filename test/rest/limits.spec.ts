import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, uniqueName, type Reply, type TestBroker } from './broker';
import { bearer } from '../support/auth';

/** Every request has a deadline, and a request body a size the queues justify. */

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker({
    // Unset: the limit follows the queues' largest maxMessageBytes.
    maxRequestBytes: undefined,
    timeouts: { statementMs: 3_000, lockMs: 1_000, connectMs: 1_000 },
  });
});
afterAll(async () => {
  await broker?.close();
});

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

describe('a database that does not answer', () => {
  it('answers sends with 503 within their deadline while another connection holds the message table', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    const runner = broker.db.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      await runner.query('LOCK TABLE mailroom_message IN ACCESS EXCLUSIVE MODE');
      // 15 of them: more than the pool's 10 connections, so some wait for a connection too.
      const sends = Array.from({ length: 15 }, (_, i) =>
        within(10_000, broker.call('POST', `/v1/queues/${queue}/messages`, { body: i })),
      );
      const replies = await Promise.all(sends);
      for (const reply of replies) {
        expect(reply, 'answered before the client gave up').not.toBeNull();
        expect(reply!.status).toBe(503);
        expect(reply!.body.error.code).toBe('unavailable');
      }
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
    expect((await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 'after' })).status).toBe(201);
  });
});

describe('request body limit', () => {
  const sized = (bytes: number) => ({ body: 'x'.repeat(bytes) });

  it('defaults to the largest maxMessageBytes plus batch framing, refusing more with 413', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    // Default queues take 256 KiB messages: 256 KiB + 1 MiB of framing.
    const over = await broker.call('POST', `/v1/queues/${queue}/messages`, sized(2 * 1024 * 1024));
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe('message_too_large');
    const batch = { messages: Array.from({ length: 1000 }, (_, i) => ({ body: `${i}`.padEnd(900, '.') })) };
    expect((await broker.call('POST', `/v1/queues/${queue}/messages`, batch)).status).toBe(201);
  });

  it('grows when a queue takes larger messages', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, { maxMessageBytes: 4 * 1024 * 1024 });
    expect((await broker.call('POST', `/v1/queues/${queue}/messages`, sized(3 * 1024 * 1024))).status).toBe(201);
  });

  it('refuses a body over the limit by its Content-Length, before reading it', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    const { port } = new URL(broker.url);
    // Announce 100 MB and send none of it: the 413 can only come from the header.
    const reply = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        {
          port,
          method: 'POST',
          path: `/v1/queues/${queue}/messages`,
          headers: { ...bearer(), 'content-type': 'application/json', 'content-length': 100_000_000 },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode!);
          request.destroy();
        },
      );
      request.on('error', reject);
      request.flushHeaders();
    });
    expect(reply).toBe(413);
  });
});
