import { ApiParam, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { QUEUE_NAME_PATTERN } from '../queues/queue.dto';

/** Documentation of idempotent producers; the library validates what is sent. */

/** The `{id}` path parameter of the producer routes. */
export const ApiProducerId = () =>
  ApiParam({
    name: 'id',
    description: "The producer's stable name, shared by its successive instances",
    schema: { type: 'string', pattern: QUEUE_NAME_PATTERN },
  });

export class InitProducerDto {
  @ApiPropertyOptional({
    description: 'Refuse a send whose sequence skips ahead of the last one + 1 (409 sequence_gap)',
    default: false,
  })
  rejectGaps?: boolean;
}

export class ProducerDto {
  @ApiProperty({ pattern: QUEUE_NAME_PATTERN, example: 'checkout-1' })
  id: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'This instance: sends stamped with an older epoch are refused from now on (409 producer_fenced)',
  })
  epoch: number;
}

export class ProducerStampDto {
  @ApiProperty({ pattern: QUEUE_NAME_PATTERN, description: 'The producer, as initialised' })
  id: string;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'The epoch init returned' })
  epoch: number;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description:
      "This send's sequence (a batch's messages take sequence, sequence + 1, …). Start at 0 after init; " +
      'a retry with the same sequence returns the original result with duplicate: true and stores nothing.',
  })
  sequence: number;
}
