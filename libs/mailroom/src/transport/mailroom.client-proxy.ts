import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  ClientProxy,
  type ProducerDeserializer,
  type ProducerSerializer,
  type ReadPacket,
  type WritePacket,
} from '@nestjs/microservices';
import { NO_MESSAGE_HANDLER } from '@nestjs/microservices/constants';
import { servicesOf, type MailroomServices, type ServicesOwner } from '../services/mailroom.services';
import { resolveConsumerSpec } from '../handlers/handler.options';
import { PushConsumer } from '../handlers/push.consumer';
import { QueueNotFoundError } from '../errors/mailroom.errors';
import { assertInteger } from '../errors/validate';
import { TRANSPORT_HEADERS } from './mailroom.context';
import { RequestTimeoutError } from './transport.errors';
import { TransportEvents, type MailroomTransportEvents, type MailroomStatus } from './transport.events';
import { destinationOf } from './transport.pattern';
import { HandlerRegistry } from './transport.registry';

export interface MailroomClientProxyOptions {
  /** The app's MailroomClient. */
  client: ServicesOwner;
  /** How long `send()` waits for a reply before failing with RequestTimeoutError (default 30000 ms). */
  timeoutMs?: number;
  /** Turns an outgoing packet into the message body (default: the packet's `data`, so any consumer reads it). */
  serializer?: ProducerSerializer;
  /** Turns a reply's body back into a response packet (default: Nest's IncomingResponseDeserializer). */
  deserializer?: ProducerDeserializer;
}

/**
 * A Nest ClientProxy over Mailroom: `emit(pattern, data)` publishes to the pattern's topic;
 * `send(pattern, data)` sends a request to the pattern's queue and waits for the reply on
 * this proxy's own reply queue, matched by correlation id, failing after `timeoutMs`.
 * Register with `ClientsModule.registerAsync([{ name, inject: [MailroomClient],
 * useFactory: (client) => ({ customClass: MailroomClientProxy, options: { client } }) }])`.
 */
export class MailroomClientProxy extends ClientProxy<MailroomTransportEvents, MailroomStatus> {
  private readonly client: ServicesOwner;
  private readonly services: MailroomServices;
  private readonly timeoutMs: number;
  private readonly replyQueue = `reply.${randomUUID()}`;
  private readonly topics = new Set<string>();
  private readonly logger = new Logger(MailroomClientProxy.name);
  private readonly events = new TransportEvents(this._status$, this.logger);
  private replies: PushConsumer | null = null;
  private connecting: Promise<void> | null = null;

  constructor(options: MailroomClientProxyOptions) {
    super();
    this.client = options.client;
    this.services = servicesOf(options.client);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    assertInteger(this.timeoutMs, 'timeoutMs', 1, 3_600_000);
    this.serializer = options.serializer ?? { serialize: (packet: ReadPacket) => packet.data };
    this.initializeDeserializer(options);
  }

  connect(): Promise<void> {
    this.connecting ??= this.openReplyQueue().then(
      () => this.events.status('connected'),
      (error) => {
        this.connecting = null;
        this.events.status('disconnected');
        throw error;
      },
    );
    return this.connecting;
  }

  /** Stops reading replies and deletes the reply queue (it has no DLQ to leave behind). */
  async close(): Promise<void> {
    const replies = this.replies;
    this.replies = null;
    this.connecting = null;
    if (!replies) return;
    await replies.stop();
    await this.services.queues.delete(this.replyQueue);
    this.events.status('disconnected');
  }

  on<E extends keyof MailroomTransportEvents>(event: E, callback: MailroomTransportEvents[E]): void {
    this.events.on(event, callback);
  }

  unwrap<T>(): T {
    return this.client as T;
  }

  protected publish(partialPacket: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const packet = this.assignPacketId(partialPacket);
    const route = this.normalizePattern(packet.pattern);
    const queue = destinationOf(route);
    const done = () => {
      clearTimeout(timer);
      this.routingMap.delete(packet.id);
    };
    const fail = (err: unknown) => {
      done();
      callback({ err, isDisposed: true });
    };
    const timer = setTimeout(() => fail(new RequestTimeoutError(queue, this.timeoutMs)), this.timeoutMs);
    this.routingMap.set(packet.id, (reply: WritePacket) => {
      if (reply.isDisposed || reply.err) done();
      callback(reply);
    });
    // Built-in transports answer a pattern nobody serves at once, with this plain message.
    this.request(queue, route, packet).then(
      (sent) => sent || fail(NO_MESSAGE_HANDLER),
      (error) => {
        if (error instanceof QueueNotFoundError) return fail(NO_MESSAGE_HANDLER);
        this.events.error(error, `request to "${queue}" failed`);
        fail(error);
      },
    );
    return done;
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const route = this.normalizePattern(packet.pattern);
    const topic = destinationOf(route);
    if (!this.topics.has(topic)) {
      await this.services.topics.create(topic);
      this.topics.add(topic);
    }
    const body = await this.serializer.serialize({ ...packet, pattern: route });
    const result = await this.services.publish(topic, body, { headers: envelope(route, packet) });
    if (result.deliveredTo === 0) {
      // Mailroom keeps an event for the subscriptions that exist when it is published; a
      // MailroomServer subscribes its group when it starts. Say so rather than drop it silently.
      this.logger.warn(
        `Event "${route}" reached no subscription and was dropped: no MailroomServer with an ` +
          `@EventPattern for it has started yet (topic "${topic}").`,
      );
    }
    return result as T;
  }

  /** Sends the request; false when no live server handles its pattern. */
  private async request(queue: string, route: string, packet: ReadPacket & { id: string }): Promise<boolean> {
    if (!(await HandlerRegistry.isHandled(this.services.dataSource, queue))) return false;
    const headers = {
      // getPattern() returns a request's pattern as given, as over TCP (an event's normalised).
      ...envelope(typeof packet.pattern === 'string' ? packet.pattern : JSON.stringify(packet.pattern), packet),
      [TRANSPORT_HEADERS.replyTo]: this.replyQueue,
      [TRANSPORT_HEADERS.correlationId]: packet.id,
      [TRANSPORT_HEADERS.deadline]: String(Date.now() + this.timeoutMs),
    };
    await this.services.send(queue, await this.serializer.serialize(packet), { headers });
    return true;
  }

  private async openReplyQueue(): Promise<void> {
    // Replies are read at most once, in order, and never dead-lettered: a proxy that dies
    // has no one left to answer, and close() leaves nothing behind.
    await this.services.queues.upsert(this.replyQueue, { retentionMs: 3_600_000, deadLetterQueue: null });
    const spec = resolveConsumerSpec({ consumer: 'replies', ackMode: 'auto' }, 'MailroomClientProxy', false);
    this.replies = new PushConsumer(this.services, this.replyQueue, spec, (body) => this.route(body));
    this.replies.start(30_000);
  }

  /** As ClientTCP#handleResponse: the deserialized packet finds its caller by id. */
  private async route(body: unknown): Promise<void> {
    const { id, err, response, isDisposed } = await this.deserializer.deserialize(body);
    const callback = this.routingMap.get(id);
    if (!callback) return;
    callback(isDisposed || err ? { err, response, isDisposed: true } : { err, response });
  }
}

/** The pattern and the dispatch hook's metadata, as headers. */
function envelope(pattern: string, packet: ReadPacket): Record<string, string> {
  const headers: Record<string, string> = { [TRANSPORT_HEADERS.pattern]: pattern };
  if (packet.metadata) headers[TRANSPORT_HEADERS.metadata] = JSON.stringify(packet.metadata);
  return headers;
}
