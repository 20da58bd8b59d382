import { applyDecorators, HttpStatus } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { ERROR_CODES } from './http-error';

export class ErrorBodyDto {
  @ApiProperty({
    description: 'Stable machine-readable code',
    enum: ERROR_CODES,
  })
  code: string;

  @ApiProperty({ description: 'What went wrong and what to do about it' })
  message: string;

  @ApiPropertyOptional({ description: 'invalid_request: the request part at fault', example: 'max' })
  field?: string;

  @ApiPropertyOptional({ description: 'lease_lost: the receipts that no longer hold a lease', type: [String] })
  receipts?: string[];
}

export class ErrorDto {
  @ApiProperty({ type: ErrorBodyDto })
  error: ErrorBodyDto;
}

const MEANING: Partial<Record<HttpStatus, string>> = {
  [HttpStatus.BAD_REQUEST]:
    'invalid_request: malformed JSON, an invalid field or queue name, text PostgreSQL cannot store (NUL, an ' +
    'unpaired surrogate) or a body nested too deep; `field` names it; nothing changed',
  [HttpStatus.NOT_FOUND]: 'queue_not_found: no such queue',
  [HttpStatus.UNAUTHORIZED]: 'unauthorized: no API key (Authorization: Bearer <key>), or an unknown or revoked one',
  [HttpStatus.FORBIDDEN]: "forbidden: the key's scopes do not allow this action on this name",
  [HttpStatus.CONFLICT]:
    'lease_lost (a stale receipt), receipt_invalid (a receipt this broker did not sign) or invalid_transition; ' +
    'nothing changed',
  [HttpStatus.GONE]: 'queue_deleted: the queue is being deleted',
  [HttpStatus.PAYLOAD_TOO_LARGE]:
    'message_too_large: a message over maxMessageBytes, or a body over the request limit (refused before it is read)',
  [HttpStatus.SERVICE_UNAVAILABLE]:
    'unavailable: the database is unreachable, or a statement, lock or pooled connection took longer than the ' +
    "broker's timeouts; retry later",
};

/** A status with the codes it carries on this endpoint, where the default meaning above would mislead. */
export type ErrorMeaning = HttpStatus | [HttpStatus, string];

/** Documents the error responses an endpoint can give, all in the one error shape. */
export function ApiErrors(...meanings: ErrorMeaning[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...meanings.map((meaning) => {
      const [status, description] = Array.isArray(meaning) ? meaning : [meaning, MEANING[meaning]];
      return ApiResponse({ status, description, type: ErrorDto });
    }),
  );
}
