import {
  context,
  isSpanContextValid,
  propagation,
  ProxyTracerProvider,
  trace,
  SpanKind,
  SpanStatusCode,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';

/**
 * OpenTelemetry through the API only: without an SDK registered by the application every
 * call here is a no-op. The trace context travels in the message's headers (W3C
 * `traceparent`/`tracestate`, written by the global propagator), so a handler's span joins
 * the trace of the send that produced its message, across processes and the REST API.
 */
const tracer = () => trace.getTracer('@mailroom/core');
const SYSTEM = 'mailroom';

const headerGetter: TextMapGetter<Record<string, string> | undefined> = {
  keys: (carrier) => Object.keys(carrier ?? {}),
  get: (carrier, key) => carrier?.[key],
};

/**
 * Whether spans could record: an application registered a tracer provider. Without one, a
 * send or handler whose (first) message carries no `traceparent` would get a span of no
 * context at all and change no header, so the hot paths skip building it (~2-8 µs a
 * message in the W1 and W3 profiles; bench/PROFILE-library.md).
 */
function tracing(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer('@mailroom/core') !== undefined;
}

/** The context a message's headers carry, or the active one when they carry none. */
function contextOf(headers: Record<string, string> | undefined): Context {
  return propagation.extract(context.active(), headers, headerGetter);
}

/**
 * One producer span per send call, parented by the active span or by a `traceparent` the
 * caller put in the first message's headers (a REST client's); each message leaves with
 * this span's context in its headers.
 */
export async function traceSend<M extends { headers?: Record<string, string> }, R>(
  queue: string,
  messages: M[],
  send: (traced: M[]) => Promise<R>,
): Promise<R> {
  if (!Array.isArray(messages) || messages.length === 0) return send(messages);
  if (!tracing() && !messages[0]?.headers?.traceparent) return send(messages);
  const parent = contextOf(messages[0]?.headers);
  const span = tracer().startSpan(
    `send ${queue}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': SYSTEM,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': queue,
        'messaging.batch.message_count': messages.length,
      },
    },
    parent,
  );
  const sent = trace.setSpan(parent, span);
  // Without an SDK the span is a no-op with no context to carry: leave the messages as they are.
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

/** The consumer span of one handler call: a child of the send's span (and linked to it). */
export function traceHandler<R>(
  queue: string,
  message: { id: string; headers: Record<string, string>; deliveryCount: number },
  handle: () => Promise<R>,
): Promise<R> {
  if (!tracing() && !message.headers?.traceparent) return handle();
  const parent = contextOf(message.headers);
  const sender = trace.getSpanContext(parent);
  const span = tracer().startSpan(
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
