import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../support/auth';
import { MAX_REQUEST_BYTES, startBroker, statsOf, uniqueName, type TestBroker } from './broker';

/** How request bodies are read, and what every answer leaves out. */

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request written by hand: `chunks` are sent one by one (chunked, no Content-Length, unless headers say otherwise). */
function send(method: string, path: string, headers: Record<string, string | number>, chunks: Buffer[]): Promise<Raw> {
  const { port } = new URL(broker.url);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ port, method, path, headers: { ...bearer(), ...headers } }, (response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.once('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(parts).toString() }),
      );
    });
    // The broker may answer (413) and close before the whole body is written.
    request.on('error', reject);
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

describe('answers', () => {
  it('carry no ETag and no X-Powered-By, and keep the connection open', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    const response = await fetch(`${broker.url}/v1/queues/${queue}`, { headers: bearer() });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBeNull();
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('connection')).toBe('keep-alive');
  });
});

describe('request bodies', () => {
  it('inflates a gzip-encoded JSON body', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    const body = gzipSync(JSON.stringify({ body: { zipped: true } }));
    const reply = await send(
      'POST',
      `/v1/queues/${queue}/messages`,
      { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length },
      [body],
    );
    expect(reply.status).toBe(201);
    expect((await statsOf(broker, queue)).available).toBe(1);
  });

  it.each([
    ['an unknown content-encoding', { 'content-encoding': 'zstd-ish' }],
    ['a charset other than utf-8', { 'content-type': 'application/json; charset=latin1' }],
  ])('refuses %s with 415, storing nothing', async (_case, headers) => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    const body = Buffer.from(JSON.stringify({ body: 1 }));
    const reply = await send(
      'POST',
      `/v1/queues/${queue}/messages`,
      { 'content-type': 'application/json', 'content-length': body.length, ...headers },
      [body],
    );
    expect(reply.status).toBe(415);
    expect(JSON.parse(reply.body).error.code).toBe('unsupported_media_type');
    expect((await statsOf(broker, queue)).available).toBe(0);
  });

  it('refuses a chunked body (no Content-Length) once it streams past the limit, storing nothing', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    // A batch of small messages (each one a queue takes), 1.1 MB in all: only the request limit refuses it.
    const message = Buffer.from(`{"body":"${'x'.repeat(1100)}"},`);
    const count = Math.ceil((MAX_REQUEST_BYTES * 1.05) / message.length);
    expect(count).toBeLessThanOrEqual(1000);
    const chunks = [Buffer.from('{"messages":['), ...Array.from({ length: count - 1 }, () => message)];
    const reply = await send('POST', `/v1/queues/${queue}/messages`, { 'content-type': 'application/json' }, [
      ...chunks,
      Buffer.from(`{"body":"last"}]}`),
    ]).catch((error: NodeJS.ErrnoException) => ({ status: error.code, headers: {}, body: '' }));
    // A 413, or the connection closed on a client still writing: never a stored message.
    if (reply.status !== 'EPIPE' && reply.status !== 'ECONNRESET') {
      expect(reply.status).toBe(413);
      expect(JSON.parse(reply.body).error.code).toBe('message_too_large');
    }
    expect((await statsOf(broker, queue)).available).toBe(0);
  });
});
