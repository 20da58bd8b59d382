import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ActorStore } from '../actor/actor.store';
import { ConsumerSessions, type ReceiveRequest } from '../delivery/consumer.sessions';
import { Settlement, type NackOptions, type SettleOptions } from '../delivery/settlement';
import { Wakeups } from '../database/wakeups';
import { pgConfigOf } from '../database/pg-config';
import { InvalidRequestError } from '../errors/mailroom.errors';
import { Outbox } from '../outbox/outbox';
import { OutboxRelay } from '../outbox/outbox.relay';
import { DeadLetterService } from '../dead-letter/dead-letter.service';
import type { TransactionOptions } from '../database/transaction';
import { Interval } from '../database/singleton';
import { LeaseService } from '../lease/lease.service';
import type { OutgoingMessage, ReceivedMessage, SendResult } from '../message/message';
import type { QueueBody, TopicBody } from '../message/registry';
import { resolveMailroomOptions, type MailroomOptions, type ResolvedMailroomOptions } from '../module/mailroom.options';
import { IdempotentProducer, initProducer, type ProducerOptions } from '../producer/idempotent.producer';
import { Producer, type SendOptions } from '../producer/producer';
import { cleanUp } from '../queue/queue.janitor';
import { QueueService, type QueueInfo } from '../queue/queue.service';
import {
  SubscriptionService,
  type SubscribeOptions,
  type SubscriptionInfo,
} from '../subscription/subscription.service';
import { TopicService, type Publication, type PublishResult } from '../topic/topic.service';

export interface TopicInfo {
  name: string;
  subscriptions: SubscriptionInfo[];
}

/**
 * Everything a service does with Mailroom: administer queues, send, receive and settle.
 * Each write accepts `{ manager }` to join the caller's TypeORM transaction.
 */
export class MailroomClient {
  readonly queues: QueueService;
  readonly leases: LeaseService;
  readonly topics: TopicService;
  readonly subscriptions: SubscriptionService;
  /** Inspect, redrive and purge dead letters. */
  readonly deadLetters: DeadLetterService;
  private readonly producerEngine: Producer;
  private readonly settlement: Settlement;
  private readonly wakeups: Wakeups;
  private readonly options: ResolvedMailroomOptions;
  private readonly sessions: ConsumerSessions;
  private readonly chores: Interval[];
  private readonly relays: OutboxRelay[];
  private readonly logger = new Logger('Mailroom');

  constructor(
    /** The DataSource Mailroom's tables live in: open transactions on it to join writes. */
    readonly dataSource: DataSource,
    options: MailroomOptions = {},
  ) {
    this.options = resolveMailroomOptions(options);
    const actors = new ActorStore(dataSource);
    this.queues = new QueueService(dataSource, actors);
    this.leases = new LeaseService(dataSource, actors);
    this.topics = new TopicService(dataSource);
    this.subscriptions = new SubscriptionService(dataSource, actors, this.queues, this.topics);
    this.deadLetters = new DeadLetterService(dataSource);
    this.producerEngine = new Producer(dataSource, this.queues);
    this.settlement = new Settlement(dataSource, this.queues);
    this.wakeups = new Wakeups(pgConfigOf(dataSource));
    this.sessions = new ConsumerSessions(dataSource, this.queues, this.leases, this.wakeups, this.options);
    for (const cache of [this.queues, this.topics]) {
      this.wakeups.on('actor', (a) => cache.onActorChange(a));
      this.wakeups.on('resync', () => cache.onActorChange(null));
    }
    this.wakeups.on('listen-error', (e) => this.logger.warn(`LISTEN connection failed, retrying: ${e}`));
    const report = (chore: string) => (e: unknown) => this.logger.error(`${chore} failed: ${e}`);
    this.chores = [
      new Interval(this.options.reaperIntervalMs, () => this.leases.reap(), report('lease reaper')),
      new Interval(
        this.options.janitorIntervalMs,
        () => cleanUp(dataSource, this.queues, this.options.inboxRetentionMs),
        report('janitor'),
      ),
    ];
    const outbox = this.options.outbox;
    this.relays = Object.keys(outbox?.destinations ?? {}).map(
      (destination) => new OutboxRelay(dataSource, this.wakeups, destination, outbox!),
    );
  }

  /** Opens the LISTEN connection and starts the reaper, the janitor and the outbox relays. */
  async start(): Promise<void> {
    await this.wakeups.start();
    for (const chore of this.chores) chore.start();
    for (const relay of this.relays) relay.start();
  }

  /**
   * Stops chores and (unless `releaseLeasesOnClose: false`) releases every session's
   * lease: unsettled messages return without spending an attempt.
   */
  async close(): Promise<void> {
    await Promise.all([...this.chores, ...this.relays].map((worker) => worker.stop()));
    await this.sessions.closeAll(this.options.releaseLeasesOnClose);
    await this.wakeups.close();
  }

  // Administering queues

  createQueue(
    name: string,
    options?: unknown,
    tx: TransactionOptions = {},
  ): Promise<{ queue: QueueInfo; created: boolean }> {
    return this.queues.upsert(name, options, tx.manager);
  }
  getQueue(name: string): Promise<QueueInfo> {
    return this.queues.get(name);
  }
  listQueues(): Promise<QueueInfo[]> {
    return this.queues.list();
  }
  pauseQueue(name: string): Promise<QueueInfo> {
    return this.queues.pause(name);
  }
  resumeQueue(name: string): Promise<QueueInfo> {
    return this.queues.resume(name);
  }
  purgeQueue(name: string): Promise<{ purged: number }> {
    return this.queues.purge(name);
  }
  deleteQueue(name: string): Promise<void> {
    return this.queues.delete(name);
  }

  // Producing

  send<Q extends string>(
    queue: Q,
    body: QueueBody<Q>,
    options: Omit<OutgoingMessage, 'body'> & SendOptions = {},
  ): Promise<SendResult> {
    const { manager, producer, ...message } = options;
    return this.producerEngine.send(queue, { ...message, body }, { manager, producer });
  }
  sendBatch<Q extends string>(
    queue: Q,
    messages: OutgoingMessage<QueueBody<Q>>[],
    options: SendOptions = {},
  ): Promise<SendResult[]> {
    return this.producerEngine.sendBatch(queue, messages, options);
  }

  /**
   * An idempotent producer instance named `id`: creating it fences every older instance
   * of the same name; its sends are stored once however often they are retried.
   */
  async producer(id: string, options: ProducerOptions = {}): Promise<IdempotentProducer> {
    const epoch = await initProducer(this.dataSource.manager, id, options.rejectGaps ?? false);
    return new IdempotentProducer(this.producerEngine, id, epoch, options);
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
    const { created } = await this.topics.create(name);
    return { topic: await this.getTopic(name), created };
  }
  async getTopic(name: string): Promise<TopicInfo> {
    const topic = await this.topics.find(name);
    return { name: topic.name, subscriptions: await this.subscriptions.list(name) };
  }
  async listTopics(): Promise<TopicInfo[]> {
    return Promise.all((await this.topics.list()).map((t) => this.getTopic(t.name)));
  }
  subscribe(topic: string, name: string, options?: SubscribeOptions) {
    return this.subscriptions.subscribe(topic, name, options);
  }
  pauseSubscription(topic: string, name: string): Promise<SubscriptionInfo> {
    return this.subscriptions.pause(topic, name);
  }
  resumeSubscription(topic: string, name: string): Promise<SubscriptionInfo> {
    return this.subscriptions.resume(topic, name);
  }
  /** Detaches the subscription: it receives no more copies; its queue stays. */
  unsubscribe(topic: string, name: string): Promise<void> {
    return this.subscriptions.detach(topic, name);
  }
  async publish<T extends string>(
    topic: T,
    body: TopicBody<T>,
    options: Omit<Publication, 'body'> & TransactionOptions = {},
  ): Promise<PublishResult> {
    const { manager, ...message } = options;
    const [result] = await this.topics.publish(topic, [{ ...message, body }], { manager }, () => '');
    return result;
  }
  publishBatch<T extends string>(
    topic: T,
    messages: Publication<TopicBody<T>>[],
    options: TransactionOptions = {},
  ): Promise<PublishResult[]> {
    return this.topics.publish(topic, messages, options);
  }

  // Consuming

  receive<T = unknown>(queue: string, request: ReceiveRequest = {}): Promise<ReceivedMessage<T>[]> {
    return this.sessions.receive(queue, request, false) as Promise<ReceivedMessage<T>[]>;
  }
  /**
   * At-most-once: claims and deletes in one statement, so the messages are gone before
   * the caller handles them (never twice; lost if the caller crashes).
   */
  take<T = unknown>(
    queue: string,
    request: Omit<ReceiveRequest, 'leaseMs' | 'ack'> = {},
  ): Promise<ReceivedMessage<T>[]> {
    return this.sessions.receive(queue, request, true) as Promise<ReceivedMessage<T>[]>;
  }
  ack(queue: string, receipts: string[], options?: SettleOptions): Promise<{ acked: number }> {
    return this.settlement.ack(queue, receipts, options);
  }
  nack(queue: string, receipts: string[], options?: NackOptions): Promise<{ nacked: number }> {
    return this.settlement.nack(queue, receipts, options);
  }
  extend(
    queue: string,
    receipts: string[],
    leaseMs: number,
    options?: SettleOptions,
  ): Promise<{ leaseExpiresAt: Date }> {
    return this.settlement.extend(queue, receipts, leaseMs, options);
  }

  /**
   * Ends one consumer's session on a queue (graceful: no attempts spent): the leases its
   * receives on this node still hold, or those of the receives that named `session`.
   */
  release(queue: string, consumer?: string, session?: string): Promise<void> {
    return this.sessions.release(queue, consumer, session);
  }
}
