import { ClientProxy, ClientRMQ, RmqRecordBuilder } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { injectTraceContext } from '../observability/tracing';

/** One outbox row on its way out. `id` is stable across retries: receivers deduplicate on it. */
export interface OutboxMessage {
  id: string;
  destination: string;
  key: string;
  pattern: string;
  data: unknown;
  attempt: number;
  /**
   * The trace context of this delivery's span (W3C `traceparent`, `tracestate`), empty
   * without an OpenTelemetry SDK: a custom `record` puts it where its transport carries headers.
   */
  headers: Record<string, string>;
}

/** An HTTP endpoint: each message is POSTed as JSON; any 2xx is a delivery. */
export interface WebhookDestination {
  url: string;
  headers?: Record<string, string>;
  /** Per request (default 10000 ms). */
  timeoutMs?: number;
}

/** A Nest ClientProxy; `record` shapes what is emitted (default: see clientProxyRecord). */
export interface ClientDestination {
  client: ClientProxy;
  record?: (message: OutboxMessage) => unknown;
}

export type OutboxDestinationConfig = ClientProxy | WebhookDestination | ClientDestination;

/** What the relay needs of a destination: deliver or throw. */
export type Deliver = (message: OutboxMessage) => Promise<void>;

export const MESSAGE_ID_HEADER = 'mailroom-message-id';

export function deliveryFor(config: OutboxDestinationConfig): Deliver {
  if (config instanceof ClientProxy) return viaClient({ client: config });
  if ('client' in config) return viaClient(config);
  return viaWebhook(config);
}

/**
 * Default records: RabbitMQ gets the data with `messageId`, a `mailroom-message-id` header
 * and the trace context headers (persistent); transports without headers get `{ id, data }`
 * so the receiver still sees the stable id. A MailroomClientProxy needs no headers from
 * here: its publish runs in the delivery's span and carries it.
 */
function clientProxyRecord(client: ClientProxy, message: OutboxMessage): unknown {
  if (client instanceof ClientRMQ) {
    return new RmqRecordBuilder(message.data)
      .setOptions({
        messageId: message.id,
        headers: { ...message.headers, [MESSAGE_ID_HEADER]: message.id },
        persistent: true,
      })
      .build();
  }
  return { id: message.id, data: message.data };
}

function viaClient({ client, record }: ClientDestination): Deliver {
  return async (message) => {
    const payload = record ? record(message) : clientProxyRecord(client, message);
    await lastValueFrom(client.emit(message.pattern, payload), { defaultValue: undefined });
  };
}

function viaWebhook({ url, headers = {}, timeoutMs = 10_000 }: WebhookDestination): Deliver {
  return async (message) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...headers,
        ...message.headers,
        [MESSAGE_ID_HEADER]: message.id,
        'mailroom-pattern': message.pattern,
        'mailroom-key': message.key,
      },
      body: JSON.stringify(message.data),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`webhook ${url} answered ${response.status}`);
  };
}
