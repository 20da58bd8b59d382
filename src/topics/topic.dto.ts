import { HttpStatus } from '@nestjs/common';
import { ApiParam, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ErrorMeaning } from '../http/api-error';
import { MAX_BATCH } from '../http/message-fields';
import { HEADERS, OutgoingMessageDto } from '../queues/message.dto';
import { PutQueueDto, QUEUE_NAME_PATTERN } from '../queues/queue.dto';

/** Documentation of topics and subscriptions; the library validates what is sent. */

const NAME = { type: 'string', pattern: QUEUE_NAME_PATTERN } as const;

/** The `{topic}` path parameter. */
export const ApiTopicName = () => ApiParam({ name: 'topic', schema: NAME });

/** The `{name}` path parameter of the subscription routes. */
export const ApiSubscriptionName = () =>
  ApiParam({ name: 'name', description: "The subscription's name within its topic", schema: NAME });

export const TOPIC_NOT_FOUND: ErrorMeaning = [HttpStatus.NOT_FOUND, 'topic_not_found: no such topic'];
export const SUBSCRIPTION_NOT_FOUND: ErrorMeaning = [
  HttpStatus.NOT_FOUND,
  'topic_not_found or subscription_not_found: no such topic, or no live subscription of that name',
];

const ROUTING_PATTERN = {
  type: String,
  nullable: true,
  maxLength: 255,
  description:
    'Matched as by a RabbitMQ topic exchange: dot-separated words of letters, digits, _ or -; `*` is one word, `#` zero or more; "" matches only a keyless publish; null: every message',
  example: 'orders.*.created',
};

export class SubscriptionDto {
  @ApiProperty({ pattern: QUEUE_NAME_PATTERN, example: 'billing' })
  name: string;

  @ApiProperty({ pattern: QUEUE_NAME_PATTERN, example: 'orders' })
  topic: string;

  @ApiProperty({
    pattern: QUEUE_NAME_PATTERN,
    description: 'The queue it feeds: by default its own, "<topic>.<name>"; consume it like any queue',
    example: 'orders.billing',
  })
  queue: string;

  @ApiProperty(ROUTING_PATTERN)
  routingKey: string | null;

  @ApiProperty({ ...HEADERS, description: 'Only messages whose headers have these values' })
  headers: Record<string, string>;

  @ApiProperty({
    enum: ['active', 'paused'],
    description: 'A paused subscription still receives copies; its queue holds them back until resumed',
  })
  state: 'active' | 'paused';
}

export class PutSubscriptionDto {
  @ApiPropertyOptional({
    pattern: QUEUE_NAME_PATTERN,
    description: 'An existing queue to feed instead of its own; it cannot change afterwards',
  })
  queue?: string;

  @ApiPropertyOptional(ROUTING_PATTERN)
  routingKey?: string | null;

  @ApiPropertyOptional({
    ...HEADERS,
    description: 'Deliver only messages whose headers have these values (no NUL or unpaired surrogate)',
  })
  headers?: Record<string, string>;

  @ApiPropertyOptional({
    type: PutQueueDto,
    description:
      'Options of its own queue "<topic>.<name>", applied on creation and on update (400 with `queue`, or for a ' +
      'subscription feeding a queue it did not create)',
  })
  queueOptions?: PutQueueDto;
}

export class TopicDto {
  @ApiProperty({ pattern: QUEUE_NAME_PATTERN, example: 'orders' })
  name: string;

  @ApiProperty({ type: [SubscriptionDto], description: 'Live subscriptions (active or paused), by name' })
  subscriptions: SubscriptionDto[];
}

export class TopicListDto {
  @ApiProperty({ type: [TopicDto] })
  topics: TopicDto[];
}

export class PublicationDto extends OutgoingMessageDto {
  @ApiPropertyOptional({
    maxLength: 255,
    description:
      'Dot-separated words of letters, digits, _ or -, matched against the subscriptions’ patterns; none (or "") is the empty key, which `#` matches',
    example: 'orders.eu.created',
  })
  routingKey?: string;
}

export class PublishBatchDto {
  @ApiProperty({
    type: [PublicationDto],
    minItems: 1,
    maxItems: MAX_BATCH,
    description: 'Published all or nothing, in order',
  })
  messages: PublicationDto[];
}

export class PublishResultDto {
  @ApiProperty({ format: 'uuid', description: 'The same id in every subscription queue that received a copy' })
  id: string;

  @ApiProperty({ type: 'integer', description: 'How many subscriptions matched, and so received a copy' })
  deliveredTo: number;
}

export class PublishBatchResultDto {
  @ApiProperty({ type: [PublishResultDto], description: 'One result per message, in request order' })
  messages: PublishResultDto[];
}
