import { Not, type DataSource } from 'typeorm';
import type { ActorStore } from '../actor/actor.store';
import { query } from '../database/transaction';
import { InvalidRequestError, InvalidTransitionError, SubscriptionNotFoundError } from '../errors/mailroom.errors';
import { assertName } from '../errors/validate';
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

  /** Creates the subscription (and its own queue unless one is named), or changes its filter. */
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
    const { id: topicId } = await this.topics.find(topic);
    const existing = await this.live(topicId, name);
    if (existing) {
      const queueId = options.queue === undefined ? existing.queueId : (await this.queues.ref(options.queue)).id;
      if (queueId !== existing.queueId) {
        throw new InvalidTransitionError(`Subscription "${name}" feeds another queue; detach it and subscribe again.`);
      }
      await this.actors.apply(subscriptionActor, { id: existing.id }, { type: 'CONFIGURE', filter });
      return { subscription: await this.describe(topicId, name), created: false };
    }
    const queueId = await this.queueFor(topic, name, options);
    try {
      await this.actors.create(subscriptionActor, {}, { topicId, name, queueId, ...filter });
    } catch (error) {
      if ((error as { code?: string; constraint?: string }).constraint === 'mailroom_subscription_queue') {
        throw new InvalidRequestError('queue', `already fed by another subscription of topic "${topic}"`);
      }
      if ((error as { code?: string }).code === '23505') return this.subscribe(topic, name, options);
      throw error;
    }
    return { subscription: await this.describe(topicId, name), created: true };
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

  private async queueFor(topic: string, name: string, options: SubscribeOptions): Promise<number> {
    if (options.queue !== undefined) {
      if (options.queueOptions !== undefined) {
        throw new InvalidRequestError(
          'queueOptions',
          'applies only to the subscription’s own queue; omit `queue` or configure that queue directly',
        );
      }
      return (await this.queues.ref(options.queue)).id;
    }
    const own = `${topic}.${name}`;
    await this.queues.upsert(own, options.queueOptions).catch((error) => {
      // Name the option where the caller gave it.
      if (error instanceof InvalidRequestError)
        throw new InvalidRequestError(`queueOptions.${error.field}`, error.reason);
      throw error;
    });
    return (await this.queues.ref(own)).id;
  }

  private live(topicId: number, name: string): Promise<SubscriptionEntity | null> {
    return this.dataSource.manager.findOne(SubscriptionEntity, { where: { topicId, name, state: Not('detached') } });
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
  }
  return { routingKey, headers };
}
