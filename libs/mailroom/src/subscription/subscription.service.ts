import { Not, type DataSource, type EntityManager } from 'typeorm';
import type { ActorStore } from '../actor/actor.store';
import { inTransaction, query } from '../database/transaction';
import { InvalidRequestError, InvalidTransitionError, SubscriptionNotFoundError } from '../errors/mailroom.errors';
import { assertName, assertText } from '../errors/validate';
import type { QueueService } from '../queue/queue.service';
import { routingPattern } from '../topic/routing-key';
import type { TopicService } from '../topic/topic.service';
import { subscriptionActor } from './subscription.actor';
import { SubscriptionEntity } from './subscription.entity';
import type { SubscriptionEvent, SubscriptionFilter } from './subscription.machine';

export interface SubscribeOptions {
  /** An existing queue to feed; default: the subscription's own queue `<topic>.<subscription>`. */
  queue?: string;
  /** AMQP-style pattern: `orders.*` one word, `orders.#` zero or more. */
  routingKey?: string | null;
  /** Deliver only messages whose headers have these values. */
  headers?: Record<string, string>;
  /** Options for the subscription's own queue, when Mailroom creates it. */
  queueOptions?: unknown;
}

export interface SubscriptionInfo {
  name: string;
  topic: string;
  queue: string;
  routingKey: string | null;
  headers: Record<string, string>;
  state: 'active' | 'paused';
}

const ALLOWED = ['queue', 'routingKey', 'headers', 'queueOptions'];

const LIST_SQL = `
SELECT s.name, t.name AS topic, q.name AS queue, s.routing_key, s.header_filter, s.state
  FROM mailroom_subscription s
  JOIN mailroom_topic t ON t.id = s.topic_id
  JOIN mailroom_queue q ON q.id = s.queue_id
 WHERE s.topic_id = $1 AND s.state <> 'detached' AND ($2::text IS NULL OR s.name = $2)
 ORDER BY s.name`;

/** Subscriptions: bind a topic to a queue with a filter (the subscription actor's events). */
export class SubscriptionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly actors: ActorStore,
    private readonly queues: QueueService,
    private readonly topics: TopicService,
  ) {}

  /**
   * Creates the subscription (and its own queue unless one is named), or changes its
   * filter and, given `queueOptions`, its own queue's options. Everything is checked
   * before anything is written, and the rows it writes (queue, DLQ, subscription) go in
   * one transaction: a request that fails changes nothing.
   */
  async subscribe(
    topic: string,
    name: string,
    options: SubscribeOptions = {},
  ): Promise<{ subscription: SubscriptionInfo; created: boolean }> {
    assertName(name, 'subscription');
    for (const key of Object.keys(options ?? {})) {
      if (!ALLOWED.includes(key)) throw new InvalidRequestError(key, `unknown option; allowed: ${ALLOWED.join(', ')}`);
    }
    const filter = toFilter(options);
    if (options.queue !== undefined && options.queueOptions !== undefined) {
      throw new InvalidRequestError(
        'queueOptions',
        'applies only to the subscription’s own queue; omit `queue` or configure that queue directly',
      );
    }
    try {
      const [topicId, created] = await inTransaction(this.dataSource, undefined, (tx) =>
        this.write(topic, name, options, filter, tx),
      );
      return { subscription: await this.describe(topicId, name), created };
    } catch (error) {
      // Another node created the subscription (or its queue) first: theirs stands, ours configures it.
      if ((error as { code?: string; constraint?: string }).code === '23505')
        return this.subscribe(topic, name, options);
      throw error;
    }
  }

  private async write(
    topic: string,
    name: string,
    options: SubscribeOptions,
    filter: SubscriptionFilter,
    tx: EntityManager,
  ): Promise<[number, boolean]> {
    const { id: topicId } = await this.topics.find(topic, tx);
    const existing = await this.live(topicId, name, tx);
    if (existing) {
      await this.reconfigure(existing, topic, options, tx);
      await this.actors.apply(subscriptionActor, { id: existing.id }, { type: 'CONFIGURE', filter }, tx);
      return [topicId, false];
    }
    const queueId = await this.queueFor(topic, name, options, tx);
    const fed = await tx.findOne(SubscriptionEntity, { where: { topicId, queueId, state: Not('detached') } });
    if (fed) throw new InvalidRequestError('queue', `already fed by subscription "${fed.name}" of topic "${topic}"`);
    await this.actors.create(subscriptionActor, {}, { topicId, name, queueId, ...filter }, tx);
    return [topicId, true];
  }

  async list(topic: string): Promise<SubscriptionInfo[]> {
    const { id } = await this.topics.find(topic);
    return this.select(id, null);
  }

  async pause(topic: string, name: string): Promise<SubscriptionInfo> {
    return this.describe(await this.event(topic, name, { type: 'PAUSE' }), name);
  }

  async resume(topic: string, name: string): Promise<SubscriptionInfo> {
    return this.describe(await this.event(topic, name, { type: 'RESUME' }), name);
  }

  /** Detached subscriptions receive no more copies; their queue and its messages stay. */
  async detach(topic: string, name: string): Promise<void> {
    await this.event(topic, name, { type: 'DETACH' });
  }

  /** Applies `event` to the live subscription; returns its topic id. */
  private async event(topic: string, name: string, event: SubscriptionEvent): Promise<number> {
    assertName(name, 'subscription');
    const { id: topicId } = await this.topics.find(topic);
    const existing = await this.live(topicId, name);
    if (!existing) throw new SubscriptionNotFoundError(topic, name);
    await this.actors.apply(subscriptionActor, { id: existing.id }, event);
    return topicId;
  }

  /** An existing subscription keeps its queue; `queueOptions` reconfigure it if it is the subscription's own. */
  private async reconfigure(
    existing: SubscriptionEntity,
    topic: string,
    options: SubscribeOptions,
    tx: EntityManager,
  ): Promise<void> {
    if (options.queue !== undefined && (await this.queues.liveId(options.queue, tx)) !== existing.queueId) {
      throw new InvalidTransitionError(
        `Subscription "${existing.name}" feeds another queue; detach it and subscribe again.`,
      );
    }
    if (options.queueOptions === undefined) return;
    const own = `${topic}.${existing.name}`;
    if (!(await this.queues.exists(own, tx)) || (await this.queues.liveId(own, tx)) !== existing.queueId) {
      throw new InvalidRequestError(
        'queueOptions',
        'this subscription feeds a queue it did not create; configure that queue directly',
      );
    }
    await this.ownQueue(own, options.queueOptions, tx);
  }

  /**
   * The queue the subscription feeds: the named one, or its own `<topic>.<name>`,
   * created or (given `queueOptions`) reconfigured here, inside the caller's transaction.
   */
  private async queueFor(topic: string, name: string, options: SubscribeOptions, tx: EntityManager): Promise<number> {
    if (options.queue !== undefined) return this.queues.liveId(options.queue, tx);
    const own = `${topic}.${name}`;
    if (options.queueOptions === undefined && (await this.queues.exists(own, tx))) return this.queues.liveId(own, tx);
    await this.ownQueue(own, options.queueOptions ?? {}, tx);
    return this.queues.liveId(own, tx);
  }

  /** Creates or reconfigures the subscription's own queue, naming a bad option where the caller gave it. */
  private async ownQueue(own: string, queueOptions: unknown, tx: EntityManager): Promise<void> {
    await this.queues.upsert(own, queueOptions, tx).catch((error) => {
      if (error instanceof InvalidRequestError) {
        const field = error.field === 'options' ? 'queueOptions' : `queueOptions.${error.field}`;
        throw new InvalidRequestError(field, error.reason);
      }
      throw error;
    });
  }

  private live(topicId: number, name: string, manager: EntityManager = this.dataSource.manager) {
    return manager.findOne(SubscriptionEntity, { where: { topicId, name, state: Not('detached') } });
  }

  private async describe(topicId: number, name: string): Promise<SubscriptionInfo> {
    const [info] = await this.select(topicId, name);
    return info;
  }

  private async select(topicId: number, name: string | null): Promise<SubscriptionInfo[]> {
    const rows = await query<Record<string, never>>(this.dataSource.manager, LIST_SQL, [topicId, name]);
    return rows.map((r) => ({
      name: r.name,
      topic: r.topic,
      queue: r.queue,
      routingKey: r.routing_key,
      headers: r.header_filter,
      state: r.state,
    }));
  }
}

function toFilter(options: SubscribeOptions): SubscriptionFilter {
  const routingKey = options.routingKey ?? null;
  if (routingKey !== null) routingPattern(routingKey);
  const headers = options.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new InvalidRequestError('headers', 'must be an object of string values');
  }
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw new InvalidRequestError(`headers.${key}`, 'must be a string');
    assertText(key, 'headers');
    assertText(value, `headers.${key}`);
  }
  return { routingKey, headers };
}
