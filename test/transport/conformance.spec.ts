/**
 * One behaviour suite, run over Nest's built-in Transport.TCP (loopback) and over Mailroom:
 * the same controller, the same client calls, the same assertions. Where Mailroom differs on
 * purpose, the harness declares it (as Watermill's `Features`) and the README says why.
 */
import type { AddressInfo, Server as NetServer } from 'node:net';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientTCP,
  IncomingRequestDeserializer,
  IncomingResponseDeserializer,
  ServerTCP,
  type BaseRpcContext,
} from '@nestjs/microservices';
import { TypeOrmModule } from '@nestjs/typeorm';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailroomEntities, MailroomClient, MailroomClientProxy, MailroomModule, MailroomServer } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { until } from '../support/wait';
import { ConformanceController, seen } from './conformance.controller';

const NO_HANDLER = 'There is no matching message handler defined in the remote service.';

/** Serializers and deserializers that count their calls and otherwise do what Nest's defaults do. */
function codecs() {
  const counted = <T extends object>(inner: T, method: keyof T) => {
    const codec = { calls: 0 } as { calls: number } & T;
    (codec as Record<keyof T, unknown>)[method] = (...args: unknown[]) => {
      codec.calls += 1;
      return (inner[method] as (...a: unknown[]) => unknown).apply(inner, args);
    };
    return codec;
  };
  return {
    client: {
      serializer: counted({ serialize: (value: unknown) => value }, 'serialize'),
      deserializer: counted(new IncomingResponseDeserializer(), 'deserialize'),
    },
    server: {
      serializer: counted({ serialize: (value: unknown) => value }, 'serialize'),
      deserializer: counted(new IncomingRequestDeserializer(), 'deserialize'),
    },
  };
}
type Codecs = ReturnType<typeof codecs>;

/** The events both transports name alike (TcpEvents, MailroomTransportEvents). */
const listening = (target: object) =>
  target as { on(event: 'connect' | 'error', callback: (...args: unknown[]) => void): void };

interface Harness {
  server: ServerTCP | MailroomServer;
  client: ClientTCP | MailroomClientProxy;
  /** Mailroom redelivers an event whose handler failed (durable, at-least-once); TCP logs and drops it. */
  retriesFailedEvents: boolean;
  close(): Promise<void>;
}

async function overTcp(codec: Codecs): Promise<Harness> {
  @Module({ controllers: [ConformanceController] })
  class TcpModule {}
  const server = new ServerTCP({ host: '127.0.0.1', port: 0, ...codec.server });
  const app = await NestFactory.create(TcpModule, { logger: false, abortOnError: false });
  app.connectMicroservice({ strategy: server });
  await app.startAllMicroservices();
  await app.init();
  const { port } = server.unwrap<NetServer>().address() as AddressInfo;
  const client = new ClientTCP({ host: '127.0.0.1', port, ...codec.client });
  return {
    server,
    client,
    retriesFailedEvents: false,
    close: async () => {
      client.close();
      await app.close();
    },
  };
}

async function overMailroom(codec: Codecs): Promise<Harness> {
  const db: TestDatabase = await createTestDatabase();
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', url: db.url, entities: mailroomEntities, retryAttempts: 1 }),
      MailroomModule.forRoot({ reaperIntervalMs: 100, pollIntervalMs: 200 }),
    ],
    controllers: [ConformanceController],
  })
  class MailroomAppModule {}
  const app = await NestFactory.create(MailroomAppModule, { logger: false, abortOnError: false });
  const mailroom = app.get(MailroomClient);
  const server = new MailroomServer({
    client: mailroom,
    group: 'conformance',
    consumer: { retry: { strategy: 'fixed', delayMs: 50, jitter: 0 } },
    ...codec.server,
  });
  app.connectMicroservice({ strategy: server });
  await app.startAllMicroservices();
  await app.init();
  // A timeout beyond the test's own: a request that waited for it would fail the test.
  const client = new MailroomClientProxy({ client: mailroom, timeoutMs: 120_000, ...codec.client });
  return {
    server,
    client,
    retriesFailedEvents: true,
    close: async () => {
      await client.close();
      await app.close();
      await db.drop();
    },
  };
}

describe.each([
  ['Transport.TCP', overTcp],
  ['Mailroom', overMailroom],
])('Nest microservices conformance over %s', (_, start) => {
  let harness: Harness;
  let codec: Codecs;
  const hooks: string[] = [];
  const send = <T>(pattern: unknown, data: unknown) => lastValueFrom(harness.client.send<T>(pattern, data));
  const failure = (pattern: unknown) =>
    send(pattern, {}).then(
      () => expect.fail('the request should have failed'),
      (error: unknown) => error,
    );

  beforeAll(async () => {
    codec = codecs();
    harness = await start(codec);
    harness.server.setOnProcessingStartHook((_transport, context, done) => {
      hooks.push(`start ${(context as BaseRpcContext & { getPattern(): string }).getPattern()}`);
      return done();
    });
    harness.server.setOnProcessingEndHook((_transport, context) => {
      hooks.push(`end ${(context as BaseRpcContext & { getPattern(): string }).getPattern()}`);
    });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('reports connected on status and to on("connect") listeners', async () => {
    const connected: string[] = [];
    listening(harness.client).on('connect', () => connected.push('connect'));
    await harness.client.connect();
    expect(await firstValueFrom(harness.client.status)).toBe('connected');
    expect(await firstValueFrom(harness.server.status)).toBe('connected');
    expect(connected).toEqual(['connect']);
    expect(() => listening(harness.server).on('error', () => undefined)).not.toThrow();
  });

  it('routes object patterns as Nest normalises them, and shows the pattern in the context', async () => {
    expect(await send({ cmd: 'sum' }, [1, 2, 3])).toBe(6);
    expect(await send('conf.pattern', {})).toBe('conf.pattern');
    // Routed by the normalised pattern; the context shows it as the client gave it.
    expect(await send({ v: 2, cmd: 'pattern' }, {})).toBe('{"v":2,"cmd":"pattern"}');
  });

  it('streams every value a handler emits', async () => {
    expect(await lastValueFrom(harness.client.send('conf.stream', {}).pipe(toArray()))).toEqual([1, 2, 3]);
  });

  it('delivers errors as the plain objects the exception filter makes', async () => {
    expect(await failure('conf.rpc-string')).toEqual({ status: 'error', message: 'no such account' });
    expect(await failure('conf.rpc-object')).toEqual({ code: 'E42', reason: 'over the limit' });
    expect(await failure('conf.crash')).toEqual({ status: 'error', message: 'Internal server error' });
  });

  it('answers a pattern without a handler at once', async () => {
    expect(await failure('conf.nobody')).toBe(NO_HANDLER);
    expect(await failure({ cmd: 'nobody' })).toBe(NO_HANDLER);
  });

  it('carries the dispatch hook’s metadata to the handler’s context, for requests and events', async () => {
    harness.client.setOnDispatchHook((packet) => {
      packet.metadata = { traceId: 'trace-1' };
    });
    try {
      expect(await send('conf.metadata', {})).toEqual({ traceId: 'trace-1' });
      await lastValueFrom(harness.client.emit('conf.event', { n: 'with metadata' }));
      await until(() => seen.events.some((e) => (e.data as { n: string }).n === 'with metadata'));
      const event = seen.events.find((e) => (e.data as { n: string }).n === 'with metadata')!;
      expect(event).toMatchObject({ pattern: 'conf.event', metadata: { traceId: 'trace-1' } });
    } finally {
      harness.client.setOnDispatchHook(() => undefined);
    }
  });

  it('runs the processing hooks around requests and events', async () => {
    hooks.length = 0;
    await send({ cmd: 'sum' }, [1]);
    await lastValueFrom(harness.client.emit('conf.event', { n: 'hooked' }));
    await until(() => hooks.includes('end conf.event'));
    expect(hooks).toEqual(
      expect.arrayContaining(['start {"cmd":"sum"}', 'end {"cmd":"sum"}', 'start conf.event', 'end conf.event']),
    );
  });

  it('calls the serializers and deserializers given, on both sides', async () => {
    const before = [
      codec.client.serializer,
      codec.client.deserializer,
      codec.server.serializer,
      codec.server.deserializer,
    ].map((c) => c.calls);
    expect(await send({ cmd: 'sum' }, [2, 3])).toBe(5);
    const after = [
      codec.client.serializer,
      codec.client.deserializer,
      codec.server.serializer,
      codec.server.deserializer,
    ].map((c) => c.calls);
    after.forEach((calls, i) => expect(calls, `codec ${i}`).toBeGreaterThan(before[i]));
  });

  it('retries a failed event only where the transport is durable', async () => {
    const id = `flaky-${Date.now()}`;
    await lastValueFrom(harness.client.emit('conf.flaky', { id }));
    if (harness.retriesFailedEvents) {
      await until(() => seen.flakyAttempts.get(id) === 2);
      return;
    }
    // TCP handles a connection's events in order: once a later event ran, the failed one was not retried.
    await lastValueFrom(harness.client.emit('conf.event', { n: `after ${id}` }));
    await until(() => seen.events.some((e) => (e.data as { n: string }).n === `after ${id}`));
    expect(seen.flakyAttempts.get(id)).toBe(1);
  });
});
