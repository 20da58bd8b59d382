import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { context, propagation, trace, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, OnMessage, type MessageContext } from '@mailroom/core';
import { startBroker, type TestBroker } from '../rest/broker';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

/**
 * One trace follows a message: the client's span → the broker's producer span (REST send)
 * → the handler's consumer span → the producer span of the message the handler sends.
 * The SDK is the test's (in-memory exporter); the library uses @opentelemetry/api only.
 */

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

@Injectable()
class Forwarder {
  constructor(private readonly client: MailroomClient) {}

  @OnMessage('traced-in')
  async forward(body: { order: number }, ctx: MessageContext) {
    await this.client.send('traced-out', { order: body.order, from: ctx.id });
  }
}

let broker: TestBroker;
let app: INestApplicationContext;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  broker = await startBroker();
  for (const queue of ['traced-in', 'traced-out']) await broker.call('PUT', `/v1/queues/${queue}`, {});
  app = await startNestApp(broker.db.url, [Forwarder]);
});
afterAll(async () => {
  await app?.close();
  await broker?.close();
  trace.disable();
  propagation.disable();
  context.disable();
});

const byName = (name: string) => exporter.getFinishedSpans().find((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('traces', () => {
  it('spans producer → broker → handler → the message the handler sends, in one trace', async () => {
    const checkout = provider.getTracer('shop').startSpan('checkout', { kind: SpanKind.CLIENT });
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), checkout), headers);
    const reply = await broker.call('POST', '/v1/queues/traced-in/messages', { body: { order: 7 }, headers });
    expect(reply.status).toBe(201);
    checkout.end();
    await until(() => byName('send traced-out') !== undefined);

    const send = byName('send traced-in')!;
    const process = byName('process traced-in')!;
    const forward = byName('send traced-out')!;
    const traceId = checkout.spanContext().traceId;
    expect([send, process, forward].map((s) => s.spanContext().traceId)).toEqual([traceId, traceId, traceId]);
    expect(parentOf(send)).toBe(checkout.spanContext().spanId);
    expect(parentOf(process)).toBe(send.spanContext().spanId);
    expect(process.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
    expect(parentOf(forward)).toBe(process.spanContext().spanId);

    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'mailroom',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'traced-in',
    });
    expect(process.attributes).toMatchObject({
      'messaging.system': 'mailroom',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'traced-in',
      'messaging.message.delivery_count': 1,
    });
    expect(process.attributes['messaging.message.id']).toEqual(expect.any(String));
  });

  it('stores the producer span context in the message headers (traceparent)', async () => {
    const [message] = await broker.db.dataSource.query(
      `SELECT m.headers FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id WHERE q.name = 'traced-out'`,
    );
    const forward = byName('send traced-out')!;
    const { traceId, spanId } = forward.spanContext();
    expect(message.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
  });
});
