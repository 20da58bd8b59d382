import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';

/** Documentation of settling deliveries; each request is all or nothing. */

const RECEIPTS: ApiPropertyOptions = {
  type: [String],
  minItems: 1,
  maxItems: 1000,
  description: 'Receipts from receive; one that no longer holds a lease fails the whole request (409)',
};

export class AckRequestDto {
  @ApiProperty(RECEIPTS)
  receipts: string[];
}

export class AckResultDto {
  @ApiProperty({ type: 'integer' })
  acked: number;
}

export class NackRequestDto {
  @ApiProperty(RECEIPTS)
  receipts: string[];

  @ApiPropertyOptional({
    type: 'integer',
    description: "Deliverable again after this long (ms); default: the queue's retry policy",
    minimum: 0,
  })
  delayMs?: number;

  @ApiPropertyOptional({ description: "Why the delivery failed; kept as the message's last error", maxLength: 4000 })
  reason?: string;

  @ApiPropertyOptional({ description: 'Retrying cannot help: dead-letter now (reason "rejected")', default: false })
  deadLetter?: boolean;
}

export class NackResultDto {
  @ApiProperty({ type: 'integer' })
  nacked: number;
}

export class ExtendRequestDto {
  @ApiProperty(RECEIPTS)
  receipts: string[];

  @ApiProperty({
    type: 'integer',
    description:
      'The leases holding these deliveries (the receives they came from, each with all its deliveries) last at ' +
      'least this long from now (ms). Only the holder of the receipts can extend; nothing else renews a lease',
    minimum: 100,
    maximum: 43_200_000,
  })
  leaseMs: number;
}

export class ExtendResultDto {
  @ApiProperty({ type: String, format: 'date-time', description: 'The earliest expiry among the leases extended' })
  leaseExpiresAt: Date;
}
