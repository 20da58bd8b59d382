import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { ReceiveRequest } from '../delivery/consumer.sessions';
import type { NackOptions, SettleOptions } from '../delivery/settlement';
import { InvalidRequestError } from '../errors/mailroom.errors';
import { Outbox } from '../outbox/outbox';
import { OutboxRelay } from '../outbox/outbox.relay';
import type { DeadLetter, DeadLetterFilter, RedriveOptions } from '../dead-letter/dead-letter.service';
import type { TransactionOptions } from '../database/transaction';
import { Interval } from '../database/singleton';
import { inboxCleanUp } from '../inbox/inbox';
import type { OutgoingMessage, ReceivedMessage, SendResult } from '../message/message';
import type { QueueBody, TopicBody } from '../message/registry';
import { resolveMailroomOptions, type MailroomOptions, type ResolvedMailroomOptions } from './mailroom.options';
import { IdempotentProducer, initProducer, type ProducerOptions } from '../producer/idempotent.producer';
import type { SendOptions } from '../producer/producer';
import { cleanUp } from '../queue/queue.janitor';
import type { QueueInfo } from '../queue/queue.service';
import { MailroomServices, SERVICES } from '../services/mailroom.services';
import type { SubscribeOptions, SubscriptionInfo } from '../subscription/subscription.service';
import type { Publication, PublishResult } from '../topic/topic.service';

export interface TopicInfo {
  name: string;
  subscriptions: SubscriptionInfo[];
}

/**
 * Everything a service does with Mailroom: administer queues, send, receive and settle.
 * Each write accepts `{ manager }` to join the caller's TypeORM transaction. A front only:
 * handlers, transports and workflows use the services below it, never the client.
 */
export class MailroomClient {
  /** The node's internal services (see MailroomServices), kept off the public surface. */
  readonly [SERVICES]: MailroomServices;
  private readonly options: ResolvedMailroomOptions;
  private readonly chores: Interval[];
  private readonly relays: OutboxRelay[];
  private readonly logger = new Logger('Mailroom');

  constructor(
    /** The DataSource Mailroom's tables live in: open transactions on it to join writes. */
    readonly dataSource: DataSource,
    options: MailroomOptions = {},
  ) {
    this.options = resolveMailroomOptions(options);
    const services = (this[SERVICES] = new MailroomServices(dataSource, this.options));
    services.wakeups.on('listen-error', (e) => this.logger.warn(`LISTEN connection failed, retrying: ${e}`));
    const report = (chore: string) => (e: unknown) => this.logger.error(`${chore} failed: ${e}`);
    const janitorSteps = [inboxCleanUp(this.options.inboxRetentionMs)];
    this.chores = [
      new Interval(this.options.reaperIntervalMs, () => services.leases.reap(), report('lease reaper')),
      new Interval(
        this.options.janitorIntervalMs,
        () => cleanUp(dataSource, services.queues, janitorSteps),
        report('janitor'),
      ),
    ];
    const outbox = this.options.outbox;
    this.relays = Object.keys(outbox?.destinations ?? {}).map(
      (destination) => new OutboxRelay(dataSource, services.wakeups, destination, outbox!),
    );
  }

  private get services(): MailroomServices {
    return this[SERVICES];
  }

  /** Opens the LISTEN connection and starts the reaper, the janitor and the outbox relays. */
  async start(): Promise<void> {
    await this.services.wakeups.start();
    for (const chore of this.chores) chore.start();
    for (const relay of this.relays) relay.start();
  }

  /**
   * Stops chores and (unless `releaseLeasesOnClose: false`) releases every session's
   * lease: unsettled messages return without spending an attempt.
   */
  async close(): Promise<void> {
    await Promise.all([...this.chores, ...this.relays].map((worker) => worker.stop()));
    await this.services.sessions.closeAll(this.options.releaseLeasesOnClose);
    await this.services.wakeups.close();
  }

  // Administering queues

  createQueue(
    name: string,
    options?: unknown,
    tx: TransactionOptions = {},
  ): Promise<{ queue: QueueInfo; created: boolean }> {
    return this.services.queues.upsert(name, options, tx.manager);
  }
  getQueue(name: string): Promise<QueueInfo> {
    return this.services.queues.get(name);
  }
  listQueues(): Promise<QueueInfo[]> {
    return this.services.queues.list();
  }
  pauseQueue(name: string): Promise<QueueInfo> {
    return this.services.queues.pause(name);
  }
  resumeQueue(name: string): Promise<QueueInfo> {
    return this.services.queues.resume(name);
  }
  purgeQueue(name: string): Promise<{ purged: number }> {
    return this.services.queues.purge(name);
  }
  deleteQueue(name: string): Promise<void> {
    return this.services.queues.delete(name);
  }
  /** The largest maxMessageBytes of any live queue (a broker sizes its request limit from it). */
  largestMessageBytes(): Promise<number> {
    return this.services.queues.largestMessageBytes();
  }

  // Operating: dead letters

  listDeadLetters(
    queue: string,
    page: { limit?: number; cursor?: string; reason?: string } = {},
  ): Promise<{ deadLetters: DeadLetter[]; nextCursor: string | null }> {
    return this.services.deadLetters.list(queue, page);
  }
  getDeadLetter(queue: string, id: string): Promise<DeadLetter | null> {
    return this.services.deadLetters.get(queue, id);
  }
  countDeadLetters(queue: string, filter?: DeadLetterFilter): Promise<number> {
    return this.services.deadLetters.count(queue, filter);
  }
  /** Moves dead letters back to their queue (or `to`), in bounded batches. */
  redriveDeadLetters(queue: string, options: RedriveOptions): Promise<{ moved: number }> {
    return this.services.deadLetters.redrive(queue, options);
  }
  purgeDeadLetters(queue: string, filter: DeadLetterFilter): Promise<{ purged: number }> {
    return this.services.deadLetters.purge(queue, filter);
  }

  // Producing

  send<Q extends string>(
    queue: Q,
    body: QueueBody<Q>,
    options: Omit<OutgoingMessage, 'body'> & SendOptions = {},
  ): Promise<SendResult> {
    return this.services.send(queue, body, options);
  }
  sendBatch<Q extends string>(
    queue: Q,
    messages: OutgoingMessage<QueueBody<Q>>[],
    options: SendOptions = {},
  ): Promise<SendResult[]> {
    return this.services.producer.sendBatch(queue, messages, options);
  }

  /**
   * An idempotent producer instance named `id`: creating it fences every older instance
   * of the same name; its sends are stored once however often they are retried.
   */
  async producer(id: string, options: ProducerOptions = {}): Promise<IdempotentProducer> {
    const epoch = await initProducer(this.dataSource.manager, id, options.rejectGaps ?? false);
    return new IdempotentProducer(this.services.producer, id, epoch, options);
  }

  /** The transactional outbox to `destination` (configured in `outbox.destinations`). */
  outbox(destination: string): Outbox {
    const outbox = this.options.outbox;
    if (!outbox || !(destination in outbox.destinations)) {
      const known = Object.keys(outbox?.destinations ?? {}).join(', ') || 'none';
      throw new InvalidRequestError(
        'destination',
        `"${destination}" is not configured (outbox.destinations: ${known})`,
      );
    }
    return new Outbox(this.dataSource.manager, destination, outbox.buckets);
  }

  // Publish/subscribe

  async createTopic(name: string): Promise<{ topic: TopicInfo; created: boolean }> {
    const { created } = await this.services.topics.create(name);
    return { topic: await this.getTopic(name), created };
  }
  async getTopic(name: string): Promise<TopicInfo> {
    const topic = await this.services.topics.find(name);
    return { name: topic.name, subscriptions: await this.services.subscriptions.list(name) };
  }
  async listTopics(): Promise<TopicInfo[]> {
    return Promise.all((await this.services.topics.list()).map((t) => this.getTopic(t.name)));
  }
  subscribe(topic: string, name: string, options?: SubscribeOptions) {
    return this.services.subscriptions.subscribe(topic, name, options);
  }
  pauseSubscription(topic: string, name: string): Promise<SubscriptionInfo> {
    return this.services.subscriptions.pause(topic, name);
  }
  resumeSubscription(topic: string, name: string): Promise<SubscriptionInfo> {
    return this.services.subscriptions.resume(topic, name);
  }
  /** Detaches the subscription: it receives no more copies; its queue stays. */
  unsubscribe(topic: string, name: string): Promise<void> {
    return this.services.subscriptions.detach(topic, name);
  }
  async publish<T extends string>(
    topic: T,
    body: TopicBody<T>,
    options: Omit<Publication, 'body'> & TransactionOptions = {},
  ): Promise<PublishResult> {
    return this.services.publish(topic, body, options);
  }
  publishBatch<T extends string>(
    topic: T,
    messages: Publication<TopicBody<T>>[],
    options: TransactionOptions = {},
  ): Promise<PublishResult[]> {
    return this.services.topics.publish(topic, messages, options);
  }

  // Consuming

  receive<T = unknown>(queue: string, request: ReceiveRequest = {}): Promise<ReceivedMessage<T>[]> {
    return this.services.delivery.claim(queue, request, false) as Promise<ReceivedMessage<T>[]>;
  }
  /**
   * At-most-once: claims and deletes in one statement, so the messages are gone before
   * the caller handles them (never twice; lost if the caller crashes).
   */
  take<T = unknown>(
    queue: string,
    request: Omit<ReceiveRequest, 'leaseMs' | 'ack'> = {},
  ): Promise<ReceivedMessage<T>[]> {
    return this.services.delivery.claim(queue, request, true) as Promise<ReceivedMessage<T>[]>;
  }
  ack(queue: string, receipts: string[], options?: SettleOptions): Promise<{ acked: number }> {
    return this.services.delivery.ack(queue, receipts, options);
  }
  nack(queue: string, receipts: string[], options?: NackOptions): Promise<{ nacked: number }> {
    return this.services.delivery.nack(queue, receipts, options);
  }
  extend(
    queue: string,
    receipts: string[],
    leaseMs: number,
    options?: SettleOptions,
  ): Promise<{ leaseExpiresAt: Date }> {
    return this.services.delivery.extend(queue, receipts, leaseMs, options);
  }

  /**
   * Ends one consumer's session on a queue (graceful: no attempts spent): the leases its
   * receives on this node still hold, or those of the receives that named `session`.
   */
  release(queue: string, consumer?: string, session?: string): Promise<void> {
    return this.services.delivery.release(queue, consumer, session);
  }
}
