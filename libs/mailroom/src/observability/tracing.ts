import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';

/**
 * OpenTelemetry through the API only: the application brings the SDK. The trace context
 * travels in the message's headers (W3C `traceparent`/`tracestate`, written by the global
 * propagator), so a handler's span joins the trace of the send that produced its message,
 * across processes, the REST API, the outbox and the Nest transport.
 *
 * Without an SDK every function here calls straight through: one look at the global
 * provider, no span, no context, no copied headers (the handler path runs this per message).
 */
const SYSTEM = 'mailroom';
const NAME = '@mailroom/core';
let cached: { provider: TracerProvider; tracer: Tracer | null } | null = null;

/** The tracer of the registered SDK, or null when none is (the API's no-op provider). */
function tracerOrNull(): Tracer | null {
  let provider = trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider };
  if (typeof provider.getDelegate === 'function') provider = provider.getDelegate();
  if (provider !== cached?.provider) {
    const noop = provider.constructor?.name === 'NoopTracerProvider';
    cached = { provider, tracer: noop ? null : provider.getTracer(NAME) };
  }
  return cached.tracer;
}

const headerGetter: TextMapGetter<Record<string, string> | undefined> = {
  keys: (carrier) => Object.keys(carrier ?? {}),
  get: (carrier, key) => carrier?.[key],
};

/** The context a message's headers carry, or the active one when they carry none. */
function contextOf(headers: Record<string, string> | null | undefined): Context {
  return propagation.extract(context.active(), headers ?? undefined, headerGetter);
}

type Operation = 'send' | 'publish';

/**
 * One producer span per send or publish call, parented by the active span or by a
 * `traceparent` the caller put in the first message's headers (a REST client's); each
 * message leaves with this span's context in its headers.
 */
export function traceSend<M extends { headers?: Record<string, string> }, R>(
  destination: string,
  messages: M[],
  send: (traced: M[]) => Promise<R>,
  operation: Operation = 'send',
): Promise<R> {
  const tracer = tracerOrNull();
  if (!tracer || !Array.isArray(messages) || messages.length === 0) return send(messages);
  const parent = contextOf(messages[0]?.headers);
  const span = tracer.startSpan(
    `${operation} ${destination}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': SYSTEM,
        'messaging.operation.type': operation,
        'messaging.operation.name': operation,
        'messaging.destination.name': destination,
        'messaging.batch.message_count': messages.length,
      },
    },
    parent,
  );
  const sent = trace.setSpan(parent, span);
  // A sampled-out (non-recording) span still carries its context: downstream samplers see it.
  if (!isSpanContextValid(span.spanContext())) return ended(span, () => send(messages));
  const traced = messages.map((m) => {
    // A message or headers of the wrong shape is left for validation to refuse as sent.
    if (typeof m !== 'object' || m === null || !isRecord(m.headers ?? {})) return m;
    const headers: Record<string, string> = { ...m.headers };
    propagation.inject(sent, headers);
    return { ...m, headers };
  });
  return ended(span, () => context.with(sent, () => send(traced)));
}

interface Traced {
  id: string;
  headers: Record<string, string>;
  deliveryCount: number;
}

/**
 * The consumer span of one handler call, linked to the send's span. Its parent is the
 * send's span, or, for a handler inside an exactly-once batch (`inBatch`), the batch's
 * transaction span (traceBatch), which is then the active one.
 */
export function traceHandler<R>(queue: string, message: Traced, handle: () => Promise<R>, inBatch = false): Promise<R> {
  const tracer = tracerOrNull();
  if (!tracer) return handle();
  const sent = contextOf(message.headers);
  const sender = trace.getSpanContext(sent);
  const parent = inBatch ? context.active() : sent;
  const span = tracer.startSpan(
    `process ${queue}`,
    {
      kind: SpanKind.CONSUMER,
      links: sender ? [{ context: sender }] : [],
      attributes: {
        'messaging.system': SYSTEM,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': queue,
        'messaging.message.id': message.id,
        'messaging.message.delivery_count': message.deliveryCount,
      },
    },
    parent,
  );
  return ended(span, () => context.with(trace.setSpan(parent, span), handle));
}

/**
 * One span for an exactly-once batch: the transaction that runs several handlers and
 * commits their effects, inbox rows and ack together. Linked to every message's send;
 * each handler's consumer span (traceHandler with `inBatch`) is its child.
 */
export function traceBatch<R>(queue: string, messages: Traced[], work: () => Promise<R>): Promise<R> {
  const tracer = tracerOrNull();
  if (!tracer) return work();
  const links: Link[] = [];
  for (const message of messages) {
    const sender = trace.getSpanContext(contextOf(message.headers));
    if (sender) links.push({ context: sender });
  }
  const parent = context.active();
  const span = tracer.startSpan(
    `transaction ${queue}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'messaging.system': SYSTEM,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'transaction',
        'messaging.destination.name': queue,
        'messaging.batch.message_count': messages.length,
      },
    },
    parent,
  );
  return ended(span, () => context.with(trace.setSpan(parent, span), work));
}

/** Runs `work` with no active trace context (work scheduled from a traced call that is not part of it). */
export function outsideTrace<T>(work: () => T): T {
  return tracerOrNull() ? context.with(ROOT_CONTEXT, work) : work();
}

/** Marks the active span failed (an exactly-once batch that rolled back and runs its messages one by one). */
export function failActiveSpan(error: unknown): void {
  const span = tracerOrNull() && trace.getActiveSpan();
  if (!span) return;
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
}

/**
 * The active trace context as headers, to store with an outbox row written now (null
 * when there is none to keep): the relay, later and elsewhere, continues this trace.
 */
export function traceContextHeaders(): Record<string, string> | null {
  if (!tracerOrNull() || !trace.getSpanContext(context.active())) return null;
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return Object.keys(headers).length > 0 ? headers : null;
}

/**
 * The relay's producer span for one outbox row, a child of the context the row was
 * written in (`stored`); the delivery runs inside it, so it carries this span onward
 * (`injectTraceContext`, or a Mailroom send through the active context).
 */
export function traceRelay<R>(
  destination: string,
  messageId: string,
  stored: Record<string, string> | null,
  deliver: () => Promise<R>,
): Promise<R> {
  const tracer = tracerOrNull();
  if (!tracer) return deliver();
  const parent = contextOf(stored);
  const span = tracer.startSpan(
    `send ${destination}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': SYSTEM,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'relay',
        'messaging.destination.name': destination,
        'messaging.message.id': messageId,
      },
    },
    parent,
  );
  return ended(span, () => context.with(trace.setSpan(parent, span), deliver));
}

/** Writes the active trace context into `headers` (W3C traceparent/tracestate); unchanged without an SDK. */
export function injectTraceContext(headers: Record<string, string>): Record<string, string> {
  if (tracerOrNull()) propagation.inject(context.active(), headers);
  return headers;
}

function isRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function ended<R>(span: Span, work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
    throw error;
  } finally {
    span.end();
  }
}
