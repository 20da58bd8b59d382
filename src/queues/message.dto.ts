import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_BODY_DEPTH, MAX_DURATION_MS } from '@mailroom/core';
import { MAX_BATCH } from '../http/message-fields';
import { ProducerStampDto } from '../producers/producer.dto';

/** Documentation of sending and receiving; the library validates what is sent. */

/** OpenAPI 3.0 for "any JSON value"; the declared oneOf keeps Swagger from inferring `object`. */
export const ANY_JSON = {
  description:
    `Any JSON value nested at most ${MAX_BODY_DEPTH} levels deep; no string or key may hold NUL (\\u0000) ` +
    'or an unpaired surrogate (PostgreSQL cannot store them)',
  example: { orderId: 42 },
  nullable: true,
  oneOf: [
    { type: 'object' },
    { type: 'array', items: {} },
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
  ],
};
export const HEADERS = {
  type: 'object',
  additionalProperties: { type: 'string' },
  example: { source: 'web' },
} as const;

export class OutgoingMessageDto {
  @ApiProperty(ANY_JSON)
  body: unknown;

  @ApiPropertyOptional({ ...HEADERS, description: 'String map, kept with the message; no NUL or unpaired surrogate' })
  headers?: Record<string, string>;

  @ApiPropertyOptional({
    format: 'uuid',
    description: "Client-supplied id: sent again within the queue's dedupWindowMs, it is stored once",
  })
  id?: string;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'Deliverable only after this long (ms)',
    minimum: 0,
    default: 0,
  })
  delayMs?: number;

  @ApiPropertyOptional({
    type: 'integer',
    description: "Time-to-live: not delivered after this long (ms); default: the queue's messageTtlMs",
    minimum: 1,
    maximum: MAX_DURATION_MS,
  })
  ttlMs?: number;

  @ApiPropertyOptional({
    description: 'grouped ordering: one message of a group in flight at a time; no NUL or unpaired surrogate',
    minLength: 1,
    maxLength: 256,
  })
  groupKey?: string;
}

const STAMP = {
  type: ProducerStampDto,
  description:
    'Sent by an idempotent producer (POST /v1/producers/{id}/init): fenced by epoch, deduplicated by sequence. ' +
    'Send in sequence order, one request at a time: a sequence at or below the highest already sent at this epoch is taken as a retry, whatever the dedup window',
};

export class SendMessageDto extends OutgoingMessageDto {
  @ApiPropertyOptional(STAMP)
  producer?: ProducerStampDto;
}

export class SendBatchDto {
  @ApiProperty({
    type: [OutgoingMessageDto],
    minItems: 1,
    maxItems: MAX_BATCH,
    description: 'Stored all or nothing, in order',
  })
  messages: OutgoingMessageDto[];

  @ApiPropertyOptional(STAMP)
  producer?: ProducerStampDto;
}

export class SendResultDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description:
      "The message's position in its queue; null only for a producer's retry of a sequence older than its last 10,000 or skipped",
  })
  sequence: number | null;

  @ApiProperty({
    description:
      'Nothing new was stored: the id was already stored within the dedup window, or the producer already sent this sequence at its epoch (whatever the window)',
  })
  duplicate: boolean;
}

export class SendBatchResultDto {
  @ApiProperty({ type: [SendResultDto], description: 'One result per message, in request order' })
  messages: SendResultDto[];
}

export class ReceiveRequestDto {
  @ApiPropertyOptional({
    description:
      "The consumer's stable name (same pattern as queue names). It does not share leases: the messages this " +
      'call receives are leased to this call alone, and receives by others using the same name never renew them ' +
      '(on an exclusive queue, the name is the one active consumer and its receives share one lease).',
    default: 'default',
  })
  consumer?: string;

  @ApiPropertyOptional({ type: 'integer', description: 'Most messages to take', minimum: 1, maximum: 100, default: 1 })
  max?: number;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'Long-poll: wait up to this long for a message (ms)',
    minimum: 0,
    maximum: 20_000,
    default: 0,
  })
  waitMs?: number;

  @ApiPropertyOptional({
    type: 'integer',
    description:
      "Lease duration (ms); default: the queue's leaseMs. The messages come back to the queue about a second " +
      'after leaseExpiresAt unless acked, nacked or extended with their receipts before it',
    minimum: 100,
    maximum: 43_200_000,
  })
  leaseMs?: number;

  @ApiPropertyOptional({
    type: [String],
    description:
      'Receipts to ack before claiming, in the same statement (one round trip for "done with these, give me more"). ' +
      'All or nothing, as POST ack: a stale receipt answers 409 and nothing is acked or claimed.',
    maxItems: 1000,
  })
  ack?: string[];
}

export class ReceivedMessageDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ type: 'integer' })
  sequence: number;

  @ApiProperty(ANY_JSON)
  body: unknown;

  @ApiProperty(HEADERS)
  headers: Record<string, string>;

  @ApiProperty({ type: String, nullable: true, description: 'As sent (grouped ordering)' })
  groupKey: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Set when the message was published to a topic with one' })
  routingKey: string | null;

  @ApiProperty({ type: 'integer', description: 'How many times this message has been delivered, this time included' })
  deliveryCount: number;

  @ApiProperty({ description: 'Present it to ack, nack or extend this delivery' })
  receipt: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    description: "This receive's lease deadline; it moves only when you extend this delivery's receipt",
  })
  leaseExpiresAt: Date;
}

export class ReceiveResultDto {
  @ApiProperty({
    type: [ReceivedMessageDto],
    description: 'Empty when nothing arrived in time, or the queue is paused',
  })
  messages: ReceivedMessageDto[];
}
