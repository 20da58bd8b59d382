import type { DataSource, EntityManager } from 'typeorm';
import type { ActorAnnouncement } from '../database/channels';
import { query, type TransactionOptions } from '../database/transaction';
import { InvalidRequestError, MessageTooLargeError, TopicNotFoundError } from '../errors/mailroom.errors';
import { dedupeWithinBatch, encodeMessage, type OutgoingMessage } from '../message/message';
import { queueDefaults } from '../queue/queue.options';
import { assertName } from '../errors/validate';
import { record, secondsSince } from '../observability/instruments';
import { traceSend } from '../observability/tracing';
import { PUBLISH_SQL } from './publish.sql';
import { assertRoutingKey } from './routing-key';
import { TopicEntity } from './topic.entity';

/** A message as a publisher hands it over: a queue message plus an optional routing key. */
export interface Publication<TBody = unknown> extends OutgoingMessage<TBody> {
  routingKey?: string;
}

export interface PublishResult {
  id: string;
  /** How many subscriptions matched, and so received a copy. */
  deliveredTo: number;
}

/** What publish needs to know before the statement: the largest message every target queue accepts. */
interface TopicRef {
  id: number;
  maxMessageBytes: number;
}

const TOPIC_LIMIT_SQL = `
SELECT t.id, coalesce(min(q.max_message_bytes), $2)::int AS max_message_bytes
  FROM mailroom_topic t
  LEFT JOIN mailroom_subscription s ON s.topic_id = t.id AND s.state <> 'detached'
  LEFT JOIN mailroom_queue q ON q.id = s.queue_id AND q.state <> 'deleted'
 WHERE t.name = $1
 GROUP BY t.id`;

/** Topics: created by name, published to with a fan-out to their subscriptions' queues. */
export class TopicService {
  private readonly refs = new Map<string, TopicRef>();

  constructor(private readonly dataSource: DataSource) {}

  async create(name: string): Promise<{ topic: TopicEntity; created: boolean }> {
    assertName(name, 'topic');
    const inserted = await this.dataSource.manager
      .createQueryBuilder()
      .insert()
      .into(TopicEntity)
      .values({ name })
      .orIgnore()
      .returning('*')
      .execute();
    const created = inserted.raw.length > 0;
    return { topic: created ? inserted.raw[0] : await this.find(name), created };
  }

  async find(name: string, manager?: EntityManager): Promise<TopicEntity> {
    assertName(name, 'topic');
    const topic = await (manager ?? this.dataSource.manager).findOne(TopicEntity, { where: { name } });
    if (!topic) throw new TopicNotFoundError(name);
    return topic;
  }

  list(): Promise<TopicEntity[]> {
    return this.dataSource.manager.find(TopicEntity, { order: { name: 'ASC' } });
  }

  /** All or nothing: every message reaches every matching subscription, or none does. */
  async publish(
    topic: string,
    messages: Publication[],
    options: TransactionOptions = {},
    fieldOf: (i: number) => string = (i) => `messages[${i}].`,
  ): Promise<PublishResult[]> {
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new InvalidRequestError('messages', 'must be a non-empty array');
    }
    return traceSend(topic, messages, (traced) => this.store(topic, traced, options, fieldOf), 'publish');
  }

  private async store(
    topic: string,
    messages: Publication[],
    options: TransactionOptions,
    fieldOf: (i: number) => string,
  ): Promise<PublishResult[]> {
    const encoded = messages.map((m, i) => encodePublication(m, fieldOf(i)));
    const ref = await this.ref(topic, options.manager);
    for (const m of encoded) {
      if (m.bytes > ref.maxMessageBytes) throw new MessageTooLargeError(topic, m.bytes, ref.maxMessageBytes);
    }
    const { unique } = dedupeWithinBatch(encoded);
    const started = performance.now();
    const rows = await query<{ id: string; delivered_to: number }>(
      options.manager ?? this.dataSource.manager,
      PUBLISH_SQL,
      [
        topic,
        unique.map((m) => m.id),
        unique.map((m) => m.body),
        unique.map((m) => m.headers),
        unique.map((m) => m.groupKey),
        unique.map((m) => m.routingKey),
        unique.map((m) => m.delayMs),
        unique.map((m) => m.clientId),
        unique.map((m) => m.ttlMs),
      ],
    );
    if (rows.length === 0) throw new TopicNotFoundError(topic);
    record('published', topic, rows.length, secondsSince(started));
    const deliveredTo = new Map(rows.map((r) => [r.id, r.delivered_to]));
    return encoded.map((m) => ({ id: m.id, deliveredTo: deliveredTo.get(m.id)! }));
  }

  /** Any subscription or queue change may change a topic's size limit: forget them all (rare). */
  onActorChange(announcement: ActorAnnouncement | null): void {
    if (announcement === null || announcement.kind === 'subscription' || announcement.kind === 'queue')
      this.refs.clear();
  }

  private async ref(topic: string, manager?: EntityManager): Promise<TopicRef> {
    const cached = this.refs.get(topic);
    if (cached) return cached;
    assertName(topic, 'topic');
    const [row] = await query<{ id: number; max_message_bytes: number }>(
      manager ?? this.dataSource.manager,
      TOPIC_LIMIT_SQL,
      [topic, queueDefaults(topic).maxMessageBytes],
    );
    if (!row) throw new TopicNotFoundError(topic);
    const ref = { id: row.id, maxMessageBytes: row.max_message_bytes };
    this.refs.set(topic, ref);
    return ref;
  }
}

function encodePublication(message: unknown, at: string) {
  if (typeof message !== 'object' || message === null) return { ...encodeMessage(message, at), routingKey: null };
  const { routingKey = null, ...rest } = message as Publication;
  if (routingKey !== null) assertRoutingKey(routingKey, `${at}routingKey`);
  return { ...encodeMessage(rest, at), routingKey };
}
