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
import { setup } from 'xstate';
import { MailroomClient, observe, OnMessage, Workflow, Workflows, type MessageContext } from '@mailroom/core';
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

/** NAP arms a 100 ms timer, which the process that armed it fires. */
const napper = setup({}).createMachine({
  id: 'tnap',
  initial: 'idle',
  states: { idle: { on: { NAP: 'napping' } }, napping: { after: { 100: 'rested' } }, rested: {} },
});

@Workflow(napper)
@Injectable()
class NapWorkflow {}

let broker: TestBroker;
let app: INestApplicationContext;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  broker = await startBroker();
  for (const queue of ['traced-in', 'traced-out']) await broker.call('PUT', `/v1/queues/${queue}`, {});
  // Consumers that poll once a minute: a due timer is fired by the process that armed it.
  app = await startNestApp(broker.db.url, [Forwarder, NapWorkflow], { pollIntervalMs: 60_000 });
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

  it('a timer fired by the process that armed it: a transaction span of its own trace, linked to where it was armed, and a process span; counted as handled', async () => {
    const workflows = app.get(Workflows);
    const handled: string[] = [];
    const detach = observe({ handled: (queue, outcome) => handled.push(`${queue} ${outcome}`) });
    try {
      await workflows.start(NapWorkflow, 'k-1');
      const arm = provider.getTracer('ops').startSpan('arm');
      await context.with(trace.setSpan(context.active(), arm), () =>
        workflows.send(NapWorkflow, 'k-1', { type: 'NAP' }),
      );
      arm.end();
      await until(async () => (await workflows.get(NapWorkflow, 'k-1')).state === 'rested');
      await until(() => byName('process workflow.tnap') !== undefined);
      const batch = byName('transaction workflow.tnap')!;
      const process = byName('process workflow.tnap')!;
      expect(batch.spanContext().traceId).not.toBe(arm.spanContext().traceId);
      expect(batch.links.map((l) => l.context.spanId)).toEqual([arm.spanContext().spanId]);
      expect(parentOf(process)).toBe(batch.spanContext().spanId);
      expect(process.links.map((l) => l.context.spanId)).toEqual([arm.spanContext().spanId]);
      expect(handled).toContain('workflow.tnap ack');
    } finally {
      detach();
    }
  });
});
