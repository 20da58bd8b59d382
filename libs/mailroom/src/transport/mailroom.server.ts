import {
  CustomTransportStrategy,
  Server,
  type MessageHandler as NestHandler,
  type WritePacket,
} from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import type { MailroomClient } from '../client/mailroom.client';
import { resolveConsumerSpec, type OnMessageOptions } from '../consumer/handler.options';
import type { MessageContext } from '../consumer/message-context';
import { PushConsumer } from '../consumer/push.consumer';
import { QueueNotFoundError } from '../errors/mailroom.errors';
import { assertName } from '../errors/validate';
import { MailroomContext, TRANSPORT_HEADERS } from './mailroom.context';

export interface MailroomServerOptions {
  client: MailroomClient;
  /**
   * This service's name: `@EventPattern(topic)` handlers consume the subscription
   * `<group>` of the topic, so instances of one service compete and other services each
   * get their own copy.
   */
  group: string;
  /** Consumer options for every handler (concurrency, retry, …). */
  consumer?: Omit<OnMessageOptions, 'consumer' | 'queueOptions'>;
}

/**
 * A Nest microservices transport over Mailroom: `@EventPattern(topic)` consumes a topic
 * subscription (at-least-once: a handler that throws is retried), `@MessagePattern(queue)`
 * answers requests sent by MailroomClientProxy to the queue of that name.
 * Use: `app.connectMicroservice({ strategy: new MailroomServer({ client, group }) })`.
 */
export class MailroomServer extends Server implements CustomTransportStrategy {
  private consumers: PushConsumer[] = [];

  constructor(private readonly options: MailroomServerOptions) {
    super();
    assertName(options.group, 'group');
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      for (const [pattern, handler] of this.messageHandlers) {
        assertName(pattern, 'pattern');
        const queue = handler.isEventHandler ? await this.subscribe(pattern) : await this.requestQueue(pattern);
        const spec = resolveConsumerSpec(
          { ...this.options.consumer, consumer: `${this.options.group}.${pattern}`.slice(0, 128) },
          `MailroomServer(${pattern})`,
          false,
        );
        const run = handler.isEventHandler ? this.onEvent(handler) : this.onRequest(handler);
        const consumer = new PushConsumer(this.options.client, queue, spec, run);
        const { options } = await this.options.client.getQueue(queue);
        consumer.start(spec.leaseMs ?? options.leaseMs);
        this.consumers.push(consumer);
      }
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.stop()));
    this.consumers = [];
  }

  on(): never {
    throw new Error('MailroomServer emits no events; observe the MailroomClient instead.');
  }

  unwrap<T>(): T {
    return this.options.client as T;
  }

  private async subscribe(topic: string): Promise<string> {
    await this.options.client.createTopic(topic);
    const { subscription } = await this.options.client.subscribe(topic, this.options.group);
    return subscription.queue;
  }

  private async requestQueue(queue: string): Promise<string> {
    await this.options.client.getQueue(queue).catch(async (error) => {
      if (!(error instanceof QueueNotFoundError)) throw error;
      await this.options.client.createQueue(queue);
    });
    return queue;
  }

  /** Events: a handler error (as Nest's exception layer reports it) nacks, so the event is retried. */
  private onEvent(handler: NestHandler) {
    return async (body: unknown, message: MessageContext) => {
      const result = await handler(body, new MailroomContext([message]));
      if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
    };
  }

  /** Requests: every emitted value (or the error) is sent to the caller's reply queue, then the request is acked. */
  private onRequest(handler: NestHandler) {
    return async (body: unknown, message: MessageContext) => {
      const replyTo = message.headers[TRANSPORT_HEADERS.replyTo];
      const id = message.headers[TRANSPORT_HEADERS.correlationId];
      const deadline = Number(message.headers[TRANSPORT_HEADERS.deadline] ?? Infinity);
      if (Date.now() > deadline) return; // the caller stopped waiting: answering helps no one
      const reply = async (packet: WritePacket) => {
        if (!replyTo) return;
        await this.options.client.send(replyTo, { ...packet, id }).catch((error) => {
          // The caller is gone (its reply queue with it): nothing to tell.
          if (!(error instanceof QueueNotFoundError)) throw error;
        });
      };
      const context = new MailroomContext([message]);
      await new Promise<void>((resolve, reject) => {
        const respond = async (packet: WritePacket) => {
          await reply(packet).catch(reject);
          if (packet.isDisposed) resolve();
        };
        Promise.resolve(
          this.handleRequest(context, async () => this.transformToObservable(await handler(body, context)), respond),
        ).catch((err) => respond({ err, isDisposed: true }));
      });
    };
  }
}
