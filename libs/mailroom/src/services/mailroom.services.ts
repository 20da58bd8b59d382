import type { ClientConfig } from 'pg';
import type { DataSource } from 'typeorm';
import { ActorStore } from '../actor/actor.store';
import { pgConfigOf } from '../database/pg-config';
import { setPreparedStatements, type TransactionOptions } from '../database/transaction';
import { Wakeups } from '../database/wakeups';
import { DeadLetterService } from '../dead-letter/dead-letter.service';
import { QueueNotFoundError } from '../errors/mailroom.errors';
import { ConsumerSessions } from '../delivery/consumer.sessions';
import { Delivery } from '../delivery/delivery';
import { Settlement } from '../delivery/settlement';
import { LeaseService } from '../lease/lease.service';
import type { OutgoingMessage, SendResult } from '../message/message';
import { Producer, type SendOptions } from '../producer/producer';
import { QueueService, type QueueRef } from '../queue/queue.service';
import { SubscriptionService } from '../subscription/subscription.service';
import { TopicService, type Publication, type PublishResult } from '../topic/topic.service';

/** Where a client keeps its services: a symbol, so they are no public field of the front. */
export const SERVICES = Symbol('mailroom.services');

/** What owns a node's services (the public MailroomClient): handlers and transports are given one. */
export interface ServicesOwner {
  readonly [SERVICES]: MailroomServices;
}

export function servicesOf(owner: ServicesOwner): MailroomServices {
  return owner[SERVICES];
}

/**
 * One node's internal services, wired once: what the handlers, the transport, the inbox and
 * workflows use (deliveries through the port, sends, queue and topic set-up), below the
 * public client, which is only a front over them and never called back.
 */
export class MailroomServices {
  readonly actors: ActorStore;
  readonly queues: QueueService;
  readonly leases: LeaseService;
  readonly topics: TopicService;
  readonly subscriptions: SubscriptionService;
  readonly deadLetters: DeadLetterService;
  readonly producer: Producer;
  readonly wakeups: Wakeups;
  readonly sessions: ConsumerSessions;
  readonly delivery: Delivery;

  constructor(
    readonly dataSource: DataSource,
    settings: {
      defaultConsumer: string;
      pollIntervalMs: number;
      preparedStatements: boolean;
      directConnection: ClientConfig | null;
    },
  ) {
    setPreparedStatements(dataSource, settings.preparedStatements);
    this.actors = new ActorStore(dataSource);
    this.queues = new QueueService(dataSource, this.actors);
    this.leases = new LeaseService(dataSource, this.actors);
    this.topics = new TopicService(dataSource);
    this.subscriptions = new SubscriptionService(dataSource, this.actors, this.queues, this.topics);
    this.deadLetters = new DeadLetterService(dataSource);
    this.producer = new Producer(dataSource, this.queues);
    this.wakeups = new Wakeups(settings.directConnection ?? pgConfigOf(dataSource));
    this.sessions = new ConsumerSessions(dataSource, this.queues, this.leases, this.wakeups, settings);
    this.delivery = new Delivery(this.sessions, new Settlement(dataSource, this.queues));
    for (const cache of [this.queues, this.topics]) {
      this.wakeups.on('actor', (a) => cache.onActorChange(a));
      this.wakeups.on('resync', () => cache.onActorChange(null));
    }
  }

  send(queue: string, body: unknown, options: Omit<OutgoingMessage, 'body'> & SendOptions = {}): Promise<SendResult> {
    const { manager, producer, ...message } = options;
    return this.producer.send(queue, { ...message, body }, { manager, producer });
  }

  async publish(
    topic: string,
    body: unknown,
    options: Omit<Publication, 'body'> & TransactionOptions = {},
  ): Promise<PublishResult> {
    const { manager, ...message } = options;
    const [result] = await this.topics.publish(topic, [{ ...message, body }], { manager }, () => '');
    return result;
  }

  /**
   * The queue as it is, or created with `options` if it does not exist (an existing one is
   * not reconfigured). Its options, not its counts: a consumer starting on a backlog of a
   * million messages must not count them first.
   */
  async ensureQueue(name: string, options?: unknown): Promise<QueueRef> {
    return this.queues.ref(name).catch(async (error: unknown) => {
      if (!(error instanceof QueueNotFoundError)) throw error;
      await this.queues.upsert(name, options);
      return this.queues.ref(name);
    });
  }
}
