import { randomUUID } from 'node:crypto';
import { ClientProxy, RpcException, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { MailroomClient } from '../client/mailroom.client';
import { resolveConsumerSpec } from '../consumer/handler.options';
import { PushConsumer } from '../consumer/push.consumer';
import { assertInteger } from '../errors/validate';
import { TRANSPORT_HEADERS } from './mailroom.context';

export interface MailroomClientProxyOptions {
  client: MailroomClient;
  /** How long `send()` waits for a reply before failing with an RpcException (default 30000 ms). */
  timeoutMs?: number;
}

type Reply = WritePacket & { id: string };

/**
 * A Nest ClientProxy over Mailroom: `emit(topic, data)` publishes to the topic;
 * `send(queue, data)` sends a request to the queue and waits for the reply on this
 * proxy's own reply queue, matched by correlation id, failing after `timeoutMs`.
 * Register with `ClientsModule.registerAsync([{ name, inject: [MailroomClient],
 * useFactory: (client) => ({ customClass: MailroomClientProxy, options: { client } }) }])`.
 */
export class MailroomClientProxy extends ClientProxy {
  private readonly client: MailroomClient;
  private readonly timeoutMs: number;
  private readonly replyQueue = `reply.${randomUUID()}`;
  private readonly topics = new Set<string>();
  private replies: PushConsumer | null = null;
  private connecting: Promise<void> | null = null;

  constructor(options: MailroomClientProxyOptions) {
    super();
    this.client = options.client;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    assertInteger(this.timeoutMs, 'timeoutMs', 1, 3_600_000);
  }

  connect(): Promise<void> {
    this.connecting ??= this.openReplyQueue();
    return this.connecting;
  }

  async close(): Promise<void> {
    const replies = this.replies;
    this.replies = null;
    this.connecting = null;
    if (!replies) return;
    await replies.stop();
    await this.client.deleteQueue(this.replyQueue);
  }

  unwrap<T>(): T {
    return this.client as T;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const { id, pattern, data } = this.assignPacketId(packet);
    const queue = this.normalizePattern(pattern);
    const timer = setTimeout(() => {
      this.routingMap.delete(id);
      callback({ err: `No reply from "${queue}" within ${this.timeoutMs} ms`, isDisposed: true });
    }, this.timeoutMs);
    this.routingMap.set(id, (reply: WritePacket) => {
      if (reply.isDisposed || reply.err) {
        clearTimeout(timer);
        this.routingMap.delete(id);
      }
      callback(reply);
    });
    const headers = {
      [TRANSPORT_HEADERS.replyTo]: this.replyQueue,
      [TRANSPORT_HEADERS.correlationId]: id,
      [TRANSPORT_HEADERS.deadline]: String(Date.now() + this.timeoutMs),
    };
    this.client.send(queue, data, { headers }).catch((err) => {
      clearTimeout(timer);
      this.routingMap.delete(id);
      callback({ err: err instanceof Error ? err.message : err, isDisposed: true });
    });
    return () => {
      clearTimeout(timer);
      this.routingMap.delete(id);
    };
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const topic = this.normalizePattern(packet.pattern);
    if (!this.topics.has(topic)) {
      await this.client.createTopic(topic);
      this.topics.add(topic);
    }
    return (await this.client.publish(topic, packet.data)) as T;
  }

  /** Errors from the responder arrive as RpcException, as with Nest's own transports' RPC errors. */
  protected serializeError(err: unknown): RpcException {
    return err instanceof RpcException ? err : new RpcException(err as string | object);
  }

  private async openReplyQueue(): Promise<void> {
    // Replies are read at most once, in order: a proxy that dies has no one left to answer.
    await this.client.createQueue(this.replyQueue, { retentionMs: 3_600_000 });
    const spec = resolveConsumerSpec({ consumer: 'replies', ackMode: 'auto' }, 'MailroomClientProxy', false);
    this.replies = new PushConsumer(this.client, this.replyQueue, spec, (body) => this.route(body as Reply));
    this.replies.start(30_000);
  }

  private route(reply: Reply): void {
    this.routingMap.get(reply.id)?.(reply);
  }
}
