import { ApiParam, ApiProperty, PartialType } from '@nestjs/swagger';
import { MAX_DURATION_MS, queueDefaults, type QueueOrdering } from '@mailroom/core';

/** Documentation of the queue resources; the library validates what is sent. */

export const QUEUE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

/** The `{name}` path parameter of the queue routes. */
export const ApiQueueName = () => ApiParam({ name: 'name', schema: { type: 'string', pattern: QUEUE_NAME_PATTERN } });

/** The library's defaults, for a queue named "orders" (only the default DLQ's name depends on it). */
const DEFAULTS = queueDefaults('orders');
const INT32_MAX = 2_147_483_647;

export class RetryPolicyDto {
  @ApiProperty({ enum: ['fixed', 'exponential'], default: DEFAULTS.retry.strategy })
  strategy: 'fixed' | 'exponential';

  @ApiProperty({
    type: 'integer',
    description: "The first retry's delay, and every retry's when fixed (ms)",
    minimum: 0,
    maximum: 86_400_000,
    default: DEFAULTS.retry.delayMs,
  })
  delayMs: number;

  @ApiProperty({
    type: 'integer',
    description: 'Exponential delays stop growing here (ms)',
    maximum: 86_400_000,
    default: DEFAULTS.retry.maxDelayMs,
  })
  maxDelayMs: number;

  @ApiProperty({
    description: 'Each delay is drawn from [delay·(1−jitter), delay]',
    minimum: 0,
    maximum: 1,
    default: DEFAULTS.retry.jitter,
  })
  jitter: number;
}

export class QueueOptionsDto {
  @ApiProperty({
    type: 'integer',
    description: 'Lease duration of a delivery (ms)',
    minimum: 100,
    maximum: 43_200_000,
    default: DEFAULTS.leaseMs,
  })
  leaseMs: number;

  @ApiProperty({
    type: 'integer',
    description: 'Failed or expired deliveries after which a message is dead-lettered (or, without a DLQ, exhausted)',
    minimum: 1,
    maximum: 1000,
    default: DEFAULTS.maxDeliveries,
  })
  maxDeliveries: number;

  @ApiProperty({
    description:
      'standard: FIFO; grouped: one message in flight per groupKey; exclusive: one consumer at a time. Cannot change once set.',
    enum: ['standard', 'grouped', 'exclusive'],
    default: DEFAULTS.ordering,
  })
  ordering: QueueOrdering;

  @ApiProperty({
    type: 'integer',
    description: 'Largest accepted message: JSON body plus headers, in UTF-8 bytes',
    minimum: 1,
    maximum: 67_108_864,
    default: DEFAULTS.maxMessageBytes,
  })
  maxMessageBytes: number;

  @ApiProperty({
    type: 'integer',
    description: 'How long a client-supplied message id is remembered for deduplication (ms)',
    minimum: 0,
    maximum: INT32_MAX,
    default: DEFAULTS.dedupWindowMs,
  })
  dedupWindowMs: number;

  @ApiProperty({
    type: 'integer',
    description: 'Unconsumed messages older than this are dropped (ms); null keeps them',
    minimum: 1000,
    maximum: MAX_DURATION_MS,
    nullable: true,
    default: DEFAULTS.retentionMs,
  })
  retentionMs: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: QUEUE_NAME_PATTERN,
    description:
      'Where failed messages go. Default "<name>.dlq", created on demand; another queue must exist; null keeps them here, exhausted.',
    example: DEFAULTS.deadLetterQueue,
  })
  deadLetterQueue: string | null;

  @ApiProperty({
    type: RetryPolicyDto,
    description: 'The delay before a failed delivery is offered again, when a nack names none',
  })
  retry: RetryPolicyDto;

  @ApiProperty({
    type: 'integer',
    description: 'Default time-to-live of a message (ms); null: messages never expire',
    minimum: 1,
    maximum: MAX_DURATION_MS,
    nullable: true,
    default: DEFAULTS.messageTtlMs,
  })
  messageTtlMs: number | null;

  @ApiProperty({
    description: 'Expired messages go to the DLQ (reason "expired") instead of being dropped and counted',
    default: DEFAULTS.deadLetterExpired,
  })
  deadLetterExpired: boolean;
}

/** PUT body: any subset of the options (retry: any subset of its fields); the rest keep their current or default value. */
export class PutQueueDto extends PartialType(QueueOptionsDto) {}

export class QueueStatsDto {
  @ApiProperty({ type: 'integer', description: 'Deliverable now' })
  available: number;

  @ApiProperty({ type: 'integer', description: 'Leased to a consumer' })
  inFlight: number;

  @ApiProperty({ type: 'integer', description: 'Waiting for their delay or retry backoff' })
  delayed: number;

  @ApiProperty({
    type: 'integer',
    description: 'Failed maxDeliveries times in a queue without a DLQ: kept, not delivered',
  })
  exhausted: number;

  @ApiProperty({ type: 'integer', description: 'Messages whose time-to-live passed and were dropped, since creation' })
  expiredDropped: number;
}

export class QueueDto {
  @ApiProperty({ pattern: QUEUE_NAME_PATTERN, example: 'orders' })
  name: string;

  @ApiProperty({ enum: ['active', 'paused'], description: 'Paused queues accept sends and deliver nothing' })
  state: 'active' | 'paused';

  @ApiProperty({ type: QueueOptionsDto })
  options: QueueOptionsDto;

  @ApiProperty({ type: QueueStatsDto })
  stats: QueueStatsDto;
}

export class QueueListDto {
  @ApiProperty({ type: [QueueDto] })
  queues: QueueDto[];
}

export class PurgeResultDto {
  @ApiProperty({ type: 'integer', description: 'Messages removed (those in flight are kept)' })
  purged: number;
}
