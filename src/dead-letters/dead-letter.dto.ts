import { applyDecorators, HttpStatus } from '@nestjs/common';
import { ApiParam, ApiProperty, ApiPropertyOptional, ApiQuery, type ApiPropertyOptions } from '@nestjs/swagger';
import type { DeadLetterReason } from '@mailroom/core';
import type { ErrorMeaning } from '../http/api-error';
import { ANY_JSON, HEADERS } from '../queues/message.dto';
import { QUEUE_NAME_PATTERN } from '../queues/queue.dto';

/** Documentation of dead letters; the library validates what is sent. */

const REASONS: DeadLetterReason[] = ['max_deliveries', 'rejected', 'lease_expired', 'expired', 'workflow_not_found'];
const REASON = { enum: REASONS, description: 'Why it was dead-lettered' };
const IDS: ApiPropertyOptions = {
  type: [String],
  format: 'uuid',
  minItems: 1,
  maxItems: 10_000,
  description: 'These dead letters (message ids); give either ids or all: true',
};
const ALL = { description: 'Every dead letter of the queue (of `reason`, if given); give either ids or all: true' };

export const DEAD_LETTER_NOT_FOUND: ErrorMeaning = [
  HttpStatus.NOT_FOUND,
  'queue_not_found (no such queue), or dead_letter_not_found (no such dead letter of this queue)',
];

export const REDRIVE_NOT_FOUND: ErrorMeaning = [
  HttpStatus.NOT_FOUND,
  'queue_not_found: no such queue, or no such `to` queue; nothing moved',
];

/** The `{id}` path parameter: a dead letter keeps its message id. */
export const ApiDeadLetterId = () => ApiParam({ name: 'id', schema: { type: 'string', format: 'uuid' } });

/** The query of the list endpoint. */
export const ApiDeadLetterQuery = () =>
  applyDecorators(
    ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } }),
    ApiQuery({ name: 'cursor', required: false, type: String, description: 'nextCursor of the previous page' }),
    ApiQuery({ name: 'reason', required: false, enum: REASONS, description: 'Only dead letters of this reason' }),
  );

export class DeadLetterDto {
  @ApiProperty({ format: 'uuid', description: 'The message id, unchanged' })
  id: string;

  @ApiProperty({ type: 'integer', description: 'Its position in the dead-letter queue' })
  sequence: number;

  @ApiProperty(ANY_JSON)
  body: unknown;

  @ApiProperty(HEADERS)
  headers: Record<string, string>;

  @ApiProperty({ pattern: QUEUE_NAME_PATTERN, description: 'The queue it failed in' })
  queue: string;

  @ApiProperty({ pattern: QUEUE_NAME_PATTERN, description: 'The dead-letter queue it lies in' })
  deadLetterQueue: string;

  @ApiProperty(REASON)
  reason: DeadLetterReason;

  @ApiProperty({ type: 'integer', description: 'Deliveries before it was dead-lettered' })
  deliveryCount: number;

  @ApiProperty({ type: String, nullable: true, description: 'The last failure: a nack reason or a handler error' })
  error: string | null;

  @ApiProperty({ type: String, nullable: true, description: "The last handler error's stack" })
  stack: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The consumer whose delivery failed last' })
  consumer: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  firstFailedAt: string;

  @ApiProperty({ type: String, format: 'date-time' })
  lastFailedAt: string;

  @ApiProperty({ type: String, format: 'date-time' })
  deadLetteredAt: string;
}

export class DeadLetterPageDto {
  @ApiProperty({ type: [DeadLetterDto], description: 'Oldest first' })
  deadLetters: DeadLetterDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last' })
  nextCursor: string | null;
}

export class RedriveRequestDto {
  @ApiPropertyOptional(IDS)
  ids?: string[];

  @ApiPropertyOptional(ALL)
  all?: boolean;

  @ApiPropertyOptional(REASON)
  reason?: DeadLetterReason;

  @ApiPropertyOptional({
    pattern: QUEUE_NAME_PATTERN,
    description: 'Where to send them (an existing queue); default: the queue they failed in',
  })
  to?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1_000_000, description: 'At most this many a second' })
  ratePerSecond?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: 'Move at most this many, then answer: a client showing progress redrives a slice at a time',
  })
  limit?: number;
}

export class RedriveResultDto {
  @ApiProperty({ type: 'integer', description: 'Moved, as fresh messages (attempts reset, body and headers kept)' })
  moved: number;

  @ApiProperty({
    type: 'integer',
    description:
      'Dead letters that still match the request: left by `limit`, in flight to a consumer of the DLQ, ' +
      'or left when the broker began shutting down',
  })
  remaining: number;
}

export class PurgeDeadLettersDto {
  @ApiPropertyOptional(IDS)
  ids?: string[];

  @ApiPropertyOptional(ALL)
  all?: boolean;

  @ApiPropertyOptional(REASON)
  reason?: DeadLetterReason;
}

export class PurgeDeadLettersResultDto {
  @ApiProperty({ type: 'integer', description: 'Deleted for good (those in flight to a consumer of the DLQ are kept)' })
  purged: number;
}
