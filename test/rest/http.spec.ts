import { ServiceUnavailableException } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as core from '@mailroom/core';
import { toHttpError } from '../../src/http/http-error';
import { bearer } from '../support/auth';
import { startBroker, statsOf, uniqueName, type TestBroker } from './broker';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

describe('errors outside the controllers', () => {
  it('answers malformed JSON with 400 invalid_request on body, changing nothing', async () => {
    const queue = uniqueName();
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    for (const raw of ['{"body": ', '"just a string"', '42']) {
      const reply = await broker.call('POST', `/v1/queues/${queue}/messages`, undefined, {
        headers: { 'content-type': 'application/json' },
        body: raw,
      });
      expect(reply.status, raw).toBe(400);
      expect(reply.body.error, raw).toMatchObject({ code: 'invalid_request', field: 'body' });
    }
    expect((await statsOf(broker, queue)).available).toBe(0);
  });

  it('refuses a body that is not application/json with 415, creating nothing', async () => {
    const queue = uniqueName();
    const reply = await broker.call('PUT', `/v1/queues/${queue}`, undefined, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '{"leaseMs": 1234}',
    });
    expect(reply.status).toBe(415);
    expect(reply.body.error).toMatchObject({ code: 'unsupported_media_type' });
    expect((await broker.call('GET', `/v1/queues/${queue}`)).status).toBe(404);
  });

  it.each([
    ['GET', '/nope'],
    ['GET', '/v1/nope'],
    ['PATCH', '/v1/queues/a'],
    ['POST', '/v1/queues/a/b/c'],
  ])('answers an unknown route (%s %s) with 404 not_found', async (method, path) => {
    const reply = await broker.call(method, path);
    expect(reply.status).toBe(404);
    expect(reply.body.error).toMatchObject({ code: 'not_found' });
  });

  it('maps every error the library exports to a deliberate status, never 500', () => {
    // Raised by a handler to the library, or by a transport to its caller: never by a request.
    const handlerSide = ['NonRetryableError', 'RequestTimeoutError'];
    type ErrorClass = new (...args: unknown[]) => core.MailroomError;
    const errorClasses = (Object.values(core) as unknown[]).filter(
      (value): value is ErrorClass => typeof value === 'function' && value.prototype instanceof core.MailroomError,
    );
    expect(errorClasses.length).toBeGreaterThan(5);
    for (const ErrorClass of errorClasses.filter((e) => !handlerSide.includes(e.name))) {
      const { status, body } = toHttpError(new ErrorClass('x', 'y', 1));
      // An outage is the one library error that is not the client's: retryable, 503.
      if (ErrorClass.name === 'DatabaseUnavailableError') expect(status).toBe(503);
      else expect(status, ErrorClass.name).toBeLessThan(500);
      expect(body.code, ErrorClass.name).not.toBe('internal');
    }
  });

  it.each([
    ['a connection that died mid-query', new Error('Connection terminated unexpectedly')],
    ['a connection that timed out opening', new Error('Connection terminated due to connection timeout')],
    ['no pooled connection in time', new Error('timeout exceeded when trying to connect')],
    ['no answer within query_timeout', new Error('Query read timeout')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['statement_timeout', Object.assign(new Error('canceling statement'), { driverError: { code: '57014' } })],
    ['lock_timeout', Object.assign(new Error('could not obtain lock'), { code: '55P03' })],
    ['too many connections', Object.assign(new Error('sorry, too many clients'), { code: '53300' })],
  ])('answers %s with 503 unavailable, not 500', (_case, error) => {
    expect(toHttpError(error)).toMatchObject({ status: 503, body: { code: 'unavailable' } });
  });

  it('answers a failed health check with 503 unavailable naming the check', () => {
    const terminusBody = { status: 'error', info: {}, error: { database: { status: 'down' } }, details: {} };
    expect(toHttpError(new ServiceUnavailableException(terminusBody))).toEqual({
      status: 503,
      body: { code: 'unavailable', message: expect.stringContaining('Unhealthy: database') },
    });
  });

  it('answers a lost database connection with 503 unavailable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    for (const error of [refused, shutdown]) {
      expect(toHttpError(error)).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    }
  });

  it('answers anything unexpected with 500 internal, without details', () => {
    expect(toHttpError(new Error('connection string postgres://secret@db'))).toEqual({
      status: 500,
      body: { code: 'internal', message: expect.not.stringContaining('secret') },
    });
  });
});

describe('OpenAPI and health', () => {
  it('describes every endpoint at /docs-json', async () => {
    const { status, body } = await broker.call('GET', '/docs-json');
    expect(status).toBe(200);
    const operations = Object.entries(body.paths as Record<string, object>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'DELETE /v1/queues/{name}',
        'GET /health',
        'GET /v1/queues',
        'GET /v1/queues/{name}',
        'POST /v1/queues/{name}/ack',
        'POST /v1/queues/{name}/extend',
        'POST /v1/queues/{name}/messages',
        'POST /v1/queues/{name}/nack',
        'POST /v1/queues/{name}/pause',
        'POST /v1/queues/{name}/purge',
        'POST /v1/queues/{name}/receive',
        'POST /v1/queues/{name}/resume',
        'PUT /v1/queues/{name}',
        'GET /v1/queues/{name}/dead-letters',
        'GET /v1/queues/{name}/dead-letters/{id}',
        'POST /v1/queues/{name}/dead-letters/redrive',
        'POST /v1/queues/{name}/dead-letters/purge',
        'GET /v1/topics',
        'PUT /v1/topics/{topic}',
        'GET /v1/topics/{topic}',
        'POST /v1/topics/{topic}/messages',
        'PUT /v1/topics/{topic}/subscriptions/{name}',
        'POST /v1/topics/{topic}/subscriptions/{name}/pause',
        'POST /v1/topics/{topic}/subscriptions/{name}/resume',
        'DELETE /v1/topics/{topic}/subscriptions/{name}',
        'POST /v1/producers/{id}/init',
        'GET /v1/workflows',
        'GET /v1/workflows/{name}/unmappable',
        'GET /v1/workflows/{name}/instances',
        'GET /v1/workflows/{name}/instances/{key}',
        'GET /v1/workflows/{name}/instances/{key}/diagram',
        'POST /v1/workflows/{name}/instances/{key}/events',
        'POST /v1/workflows/{name}/instances/{key}/cancel',
        'POST /v1/workflows/{name}/instances/{key}/retry',
        'POST /v1/keys',
        'GET /v1/keys',
        'DELETE /v1/keys/{id}',
        'GET /v1/audit',
        'POST /v1/receipt-secrets/rotate',
      ].sort(),
    );
    const receive = body.paths['/v1/queues/{name}/receive'].post;
    expect(receive.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/ReceiveRequestDto');
    expect(receive.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/ReceiveResultDto',
    );
    expect(body.components.schemas.ReceivedMessageDto.required).toEqual(
      expect.arrayContaining(['id', 'sequence', 'body', 'headers', 'deliveryCount', 'receipt', 'leaseExpiresAt']),
    );
    expect(body.components.schemas.ErrorDto).toBeDefined();
  });

  it('documents the request body, the success response and the errors of every endpoint', async () => {
    const { body } = await broker.call('GET', '/docs-json');
    // Endpoints that take no body: the queue, subscription and workflow instance actions, and creating a topic.
    const bodiless =
      /\{name\}\/(pause|resume|purge)$|\{key\}\/(cancel|retry)$|^\/v1\/topics\/\{topic\}$|^\/v1\/receipt-secrets\/rotate$/;
    for (const [path, methods] of Object.entries(body.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(methods)) {
        const label = `${method.toUpperCase()} ${path}`;
        const success = Object.entries(operation.responses as Record<string, any>).filter(([s]) => s.startsWith('2'));
        expect(success.length, label).toBeGreaterThan(0);
        for (const [status, response] of success) {
          if (status !== '204') expect(response.content?.['application/json']?.schema, label).toBeDefined();
        }
        if ((method === 'post' || method === 'put') && !bodiless.test(path)) {
          expect(operation.requestBody?.content?.['application/json']?.schema, label).toBeDefined();
        }
        if (path.startsWith('/v1/')) {
          expect(operation.responses['503']?.content['application/json'].schema.$ref, label).toBe(
            '#/components/schemas/ErrorDto',
          );
        }
      }
    }
    const send = body.components.schemas.SendMessageDto;
    expect(send.properties.producer.allOf?.[0]?.$ref ?? send.properties.producer.$ref).toBe(
      '#/components/schemas/ProducerStampDto',
    );
    expect(body.components.schemas.ErrorBodyDto.properties.code.enum).toContain('dead_letter_not_found');
  });

  it('serves the Swagger UI at /docs', async () => {
    const response = await fetch(`${broker.url}/docs`, { headers: bearer() });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/swagger/i);
  });

  it('is healthy at /health when the database answers', async () => {
    const { status, body } = await broker.call('GET', '/health');
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  });
});
