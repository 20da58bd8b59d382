import {
  CustomTransportStrategy,
  Server,
  type ConsumerDeserializer,
  type ConsumerSerializer,
  type MessageHandler as NestHandler,
  type PacketMetadata,
  type WritePacket,
} from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { finalize } from 'rxjs/operators';
import { servicesOf, type MailroomServices, type ServicesOwner } from '../services/mailroom.services';
import type { OnMessageOptions } from '../handlers/handler.options';
import type { MessageContext } from '../handlers/message-context';
import { PushConsumers } from '../handlers/push.consumers';
import { QueueNotFoundError } from '../errors/mailroom.errors';
import { assertName } from '../errors/validate';
import { MailroomContext, TRANSPORT_HEADERS } from './mailroom.context';
import { TransportEvents, type MailroomTransportEvents, type MailroomStatus } from './transport.events';
import { destinationOf } from './transport.pattern';
import { HandlerRegistry } from './transport.registry';

export interface MailroomServerOptions {
  /** The app's MailroomClient. */
  client: ServicesOwner;
  /**
   * This service's name: `@EventPattern(topic)` handlers consume the subscription
   * `<group>` of the topic, so instances of one service compete and other services each
   * get their own copy.
   */
  group: string;
  /** Consumer options for every handler (concurrency, retry, …). */
  consumer?: Omit<OnMessageOptions, 'consumer' | 'queueOptions'>;
  /** Turns a reply packet into the reply message's body (default: the packet as it is). */
  serializer?: ConsumerSerializer;
  /**
   * Turns a message body into the incoming packet; called with `{ channel: pattern, headers }`.
   * Default: the body is the packet's data, as MailroomClientProxy's default serializer sends it.
   */
  deserializer?: ConsumerDeserializer;
}

/**
 * A Nest microservices transport over Mailroom: `@EventPattern(pattern)` consumes the
 * group's subscription of the pattern's topic (at-least-once: a handler that fails is
 * retried, then dead-lettered), `@MessagePattern(pattern)` answers requests that
 * MailroomClientProxy sends to the pattern's queue. Object patterns map to names as
 * `destinationOf` says. Use: `app.connectMicroservice({ strategy: new MailroomServer({ client, group }) })`.
 */
export class MailroomServer extends Server<MailroomTransportEvents, MailroomStatus> implements CustomTransportStrategy {
  private readonly consumers: PushConsumers;
  private readonly registry: HandlerRegistry;
  private readonly events = new TransportEvents(this._status$, this.logger);
  private readonly services: MailroomServices;

  constructor(private readonly options: MailroomServerOptions) {
    super();
    assertName(options.group, 'group');
    this.services = servicesOf(options.client);
    this.consumers = new PushConsumers(this.services);
    this.registry = new HandlerRegistry(this.services.dataSource);
    this.initializeSerializer(options);
    this.deserializer = options.deserializer ?? {
      deserialize: (data: unknown, { channel }: { channel: string }) => ({ pattern: channel, data }),
    };
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const patterns = [...this.messageHandlers].map(([route, handler]) => {
        const destination = destinationOf(route);
        return {
          where: `MailroomServer(${route})`,
          options: { ...this.options.consumer, consumer: `${this.options.group}.${destination}`.slice(0, 128) },
          topic: false,
          handler: handler.isEventHandler ? this.onEvent(route, handler) : this.onRequest(route, handler),
          destination,
          event: handler.isEventHandler,
        };
      });
      await this.consumers.start(patterns, ({ event, destination }) =>
        event ? this.subscribe(destination) : this.requestQueue(destination),
      );
      const requestQueues = patterns.filter((p) => !p.event).map((p) => p.destination);
      await this.registry.register(requestQueues, (error) => {
        if (error) this.events.error(error, 'renewing the handler registry failed');
        this.events.status(error ? 'disconnected' : 'connected');
      });
      this.events.status('connected');
      callback();
    } catch (error) {
      this.events.status('disconnected');
      callback(error);
    }
  }

  /** Withdraws the patterns first, so new requests fail at once rather than wait for nobody. */
  async close(): Promise<void> {
    await this.registry.withdraw();
    await this.consumers.stop();
    this.events.status('disconnected');
  }

  on<E extends keyof MailroomTransportEvents>(event: E, callback: MailroomTransportEvents[E]): void {
    this.events.on(event, callback);
  }

  unwrap<T>(): T {
    return this.options.client as T;
  }

  private async subscribe(topic: string): Promise<string> {
    await this.services.topics.create(topic);
    const { subscription } = await this.services.subscriptions.subscribe(topic, this.options.group);
    return subscription.queue;
  }

  private async requestQueue(queue: string): Promise<string> {
    await this.services.ensureQueue(queue);
    return queue;
  }

  /** The incoming packet (through the deserializer) and the handler's context. */
  private async unpack(route: string, body: unknown, message: MessageContext) {
    const packet = await this.deserializer.deserialize(body, { channel: route, headers: message.headers });
    const metadata = message.headers[TRANSPORT_HEADERS.metadata];
    const context = new MailroomContext([
      message,
      message.headers[TRANSPORT_HEADERS.pattern] ?? route,
      metadata === undefined ? undefined : (JSON.parse(metadata) as PacketMetadata),
    ]);
    return { data: packet.data, context };
  }

  /**
   * Events run between the processing hooks as built-ins run them, but a failure (a throw
   * or an erroring stream) is awaited and nacks the delivery, so the event is retried.
   */
  private onEvent(route: string, handler: NestHandler) {
    return async (body: unknown, message: MessageContext) => {
      const { data, context } = await this.unpack(route, body, message);
      await this.runWithProcessingHooks(context, async (runEndHook) => {
        const result = await handler(data, context);
        if (!isObservable(result)) return runEndHook();
        await lastValueFrom(result.pipe(finalize(runEndHook)), { defaultValue: undefined });
      });
    };
  }

  /** Requests: every emitted value (or the error) is sent to the caller's reply queue, then the request is acked. */
  private onRequest(route: string, handler: NestHandler) {
    return async (body: unknown, message: MessageContext) => {
      const replyTo = message.headers[TRANSPORT_HEADERS.replyTo];
      const id = message.headers[TRANSPORT_HEADERS.correlationId];
      const deadline = Number(message.headers[TRANSPORT_HEADERS.deadline] ?? Infinity);
      if (Date.now() > deadline) return; // the caller stopped waiting: answering helps no one
      const { data, context } = await this.unpack(route, body, message);
      const reply = async (packet: WritePacket) => {
        if (!replyTo) return;
        const serialized = await this.serializer.serialize({ ...packet, id });
        await this.services.send(replyTo, serialized).catch((error) => {
          // The caller is gone (its reply queue with it): nothing to tell.
          if (!(error instanceof QueueNotFoundError)) throw error;
        });
      };
      await new Promise<void>((resolve, reject) => {
        const respond = async (packet: WritePacket) => {
          await reply(packet).catch(reject);
          if (packet.isDisposed) resolve();
        };
        Promise.resolve(
          this.handleRequest(context, async () => this.transformToObservable(await handler(data, context)), respond),
        ).catch((err) => respond({ err, isDisposed: true }));
      });
    };
  }
}
