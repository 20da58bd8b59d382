import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplication, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ClientProxy } from '@nestjs/microservices';
import { context, propagation, trace, SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, MailroomClientProxy, MailroomServer, OnMessage, type MessageContext } from '@mailroom/core';
import { microserviceModule, ORDERS_SERVICE, seen } from '../fixtures/microservice.app';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

/**
 * The trace context crosses every hop Mailroom offers besides a plain send (traces.spec.ts):
 * the outbox (stored with the row, continued by the relay, handed to a webhook or an
 * internal queue), the Nest microservices transport (request, reply, event), and an
 * exactly-once batch (one transaction span, its handlers' spans as children).
 */

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');

let db: TestDatabase;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await db?.drop();
  trace.disable();
  propagation.disable();
  context.disable();
});

const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const span = (name: string) => spans(name)[0];
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan | Span) => s.spanContext().spanId;
const traceparentOf = (s: ReadableSpan) => `00-${s.spanContext().traceId}-${idOf(s)}-01`;

/** Runs `work` inside a new root span; returns the span (ended). */
async function within(name: string, work: () => Promise<unknown>): Promise<Span> {
  const root = tracer.startSpan(name, { kind: SpanKind.CLIENT });
  await context.with(trace.setSpan(context.active(), root), work);
  root.end();
  return root;
}

describe('through the outbox', () => {
  const headersSeen: Record<string, string>[] = [];

  @Injectable()
  class Watcher {
    @OnMessage('traced-outbox.watcher')
    seen(_body: unknown, ctx: MessageContext) {
      headersSeen.push(ctx.headers);
    }
  }

  it('keeps the writer’s trace: writer → relay → webhook, and → relay → internal queue → handler', async () => {
    const hooks: (string | undefined)[] = [];
    const hook = createServer((req, res) => {
      hooks.push(req.headers.traceparent as string | undefined);
      req.resume().on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => hook.close(resolve)));
    const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/`;

    // The internal destination: a MailroomClientProxy on another node, publishing to a topic
    // whose subscription queue a handler consumes.
    const node = await startClient(await db.newDataSource());
    closers.push(() => node.close());
    await node.createTopic('traced-outbox');
    await node.subscribe('traced-outbox', 'watcher');
    const proxy = new MailroomClientProxy({ client: node });
    closers.push(() => proxy.close());
    const app = await startNestApp(db.url, [Watcher], {
      outbox: { destinations: { hook: { url }, internal: { client: proxy as unknown as ClientProxy } } },
    });
    closers.push(() => app.close());
    const outbox = (name: string) => app.get(MailroomClient).outbox(name);

    const checkout = await within('checkout', () =>
      db.dataSource.transaction(async (manager) => {
        await outbox('hook').emit('order.placed', { n: 1 }, { manager });
        await outbox('internal').emit('traced-outbox', { n: 2 }, { manager });
      }),
    );
    await until(() => hooks.length === 1 && headersSeen.length === 1);
    // A span is exported when it ends: the handler's after it returns, the relay's after its send.
    const names = ['send hook', 'send internal', 'publish traced-outbox', 'process traced-outbox.watcher'];
    await until(() => names.every((name) => span(name) !== undefined));

    const traceId = checkout.spanContext().traceId;
    const toHook = span('send hook');
    const toInternal = span('send internal');
    const publish = span('publish traced-outbox');
    const handler = span('process traced-outbox.watcher');
    for (const s of [toHook, toInternal, publish, handler]) expect(s.spanContext().traceId).toBe(traceId);
    expect(toHook.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(toHook)).toBe(idOf(checkout));
    expect(parentOf(toInternal)).toBe(idOf(checkout));
    expect(toHook.attributes).toMatchObject({ 'messaging.destination.name': 'hook', 'messaging.system': 'mailroom' });
    // The webhook receives the relay span's context; the internal message carries its publish span's.
    expect(hooks[0]).toBe(traceparentOf(toHook));
    expect(parentOf(publish)).toBe(idOf(toInternal));
    expect(headersSeen[0].traceparent).toBe(traceparentOf(publish));
    expect(parentOf(handler)).toBe(idOf(publish));
  });
});

describe('through the Nest microservices transport', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await NestFactory.create(microserviceModule(db.url, 'traced'), { logger: ['error'], abortOnError: false });
    app.connectMicroservice({ strategy: new MailroomServer({ client: app.get(MailroomClient), group: 'traced' }) });
    await app.startAllMicroservices();
    await app.init();
    closers.push(() => app.close());
  });
  const proxy = () => app.get<ClientProxy>(ORDERS_SERVICE);

  it('a request and its reply: caller → send → @MessagePattern handler → reply → the caller’s proxy', async () => {
    exporter.reset();
    let sum: unknown;
    const caller = await within('caller', async () => (sum = await lastValueFrom(proxy().send('ms-sum', [1, 2]))));
    expect(sum).toBe(3);
    await until(() => exporter.getFinishedSpans().some((s) => s.name.startsWith('process reply.')));

    const request = span('send ms-sum');
    const handler = span('process ms-sum');
    const reply = exporter.getFinishedSpans().find((s) => s.name.startsWith('send reply.'))!;
    const answered = exporter.getFinishedSpans().find((s) => s.name.startsWith('process reply.'))!;
    for (const s of [request, handler, reply, answered])
      expect(s.spanContext().traceId).toBe(caller.spanContext().traceId);
    expect(parentOf(request)).toBe(idOf(caller));
    expect(parentOf(handler)).toBe(idOf(request));
    expect(handler.links.map((l) => l.context.spanId)).toEqual([idOf(request)]);
    expect(parentOf(reply)).toBe(idOf(handler));
    expect(parentOf(answered)).toBe(idOf(reply));
  });

  it('an event: emitter → publish → @EventPattern handler', async () => {
    exporter.reset();
    seen.length = 0;
    const emitter = await within('emitter', () => lastValueFrom(proxy().emit('ms-orders', { n: 1 })));
    await until(() => spans('process ms-orders.traced').length === 1);
    const publish = span('publish ms-orders');
    const handler = span('process ms-orders.traced');
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(publish)).toBe(idOf(emitter));
    expect(parentOf(handler)).toBe(idOf(publish));
    expect(handler.spanContext().traceId).toBe(emitter.spanContext().traceId);
  });
});

describe('exactly-once batches', () => {
  it('one span per batch transaction with its message count; each handler’s span its child, linked to the send', async () => {
    const queue = `traced-batch-${randomUUID().slice(0, 8)}`;
    const setup = await startClient(db.dataSource);
    await setup.createQueue(queue);
    // Sent before the consumer starts, so its first claim takes all five into one batch.
    const sender = await within('sender', () =>
      setup.sendBatch(
        queue,
        [1, 2, 3, 4, 5].map((body) => ({ body })),
      ),
    );
    await setup.close();
    exporter.reset();
    const handled: number[] = [];

    @Injectable()
    class Batched {
      @OnMessage(queue, { consumer: 'batched', mode: 'exactly-once', transactionBatch: 5 })
      handle(body: number) {
        handled.push(body);
      }
    }
    const app: INestApplicationContext = await startNestApp(db.url, [Batched]);
    closers.push(() => app.close());
    await until(() => spans(`transaction ${queue}`).length === 1 && spans(`process ${queue}`).length === 5);

    const send = span(`send ${queue}`) ?? undefined;
    const batch = span(`transaction ${queue}`);
    expect(batch.attributes['messaging.batch.message_count']).toBe(5);
    expect(batch.spanContext().traceId).not.toBe(sender.spanContext().traceId); // its own trace, linked
    expect(new Set(batch.links.map((l) => l.context.traceId))).toEqual(new Set([sender.spanContext().traceId]));
    expect(batch.links).toHaveLength(5);
    for (const handler of spans(`process ${queue}`)) {
      expect(parentOf(handler)).toBe(idOf(batch));
      expect(handler.links[0].context.traceId).toBe(sender.spanContext().traceId);
    }
    expect(send).toBeUndefined(); // reset after the send: only the consumer side was recorded
    expect(handled.sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('marks a batch that rolled back as failed; its messages then run one by one, each in a trace of its own', async () => {
    const queue = `traced-batch-${randomUUID().slice(0, 8)}`;
    const setup = await startClient(db.dataSource);
    await setup.createQueue(queue, { retry: { strategy: 'fixed', delayMs: 0 } });
    await setup.sendBatch(
      queue,
      [1, 2, 3].map((body) => ({ body })),
    );
    await setup.close();
    exporter.reset();
    let failed = false;

    @Injectable()
    class FailsOnce {
      @OnMessage(queue, { consumer: 'fails-once', mode: 'exactly-once', transactionBatch: 3 })
      handle(body: number) {
        if (body === 2 && !failed) {
          failed = true;
          throw new Error('not this time');
        }
      }
    }
    const app = await startNestApp(db.url, [FailsOnce]);
    closers.push(() => app.close());
    // The batch's three handler spans (two ran), then one per message on its own.
    await until(() => spans(`transaction ${queue}`).length === 1 && spans(`process ${queue}`).length >= 5);
    const batch = span(`transaction ${queue}`);
    expect(batch.status.code).toBe(SpanStatusCode.ERROR);
    const alone = spans(`process ${queue}`).filter((s) => parentOf(s) !== idOf(batch));
    expect(alone).toHaveLength(3);
    for (const s of alone) expect(s.spanContext().traceId).not.toBe(batch.spanContext().traceId);
  });
});
