import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

const SCOPES_DESCRIPTION =
  'admin (keys, audit, receipt secrets), or produce|consume|manage:<name pattern>, where * matches any run of ' +
  'characters: produce:orders-*, consume:*, manage:billing';

export class CreateKeyDto {
  @ApiProperty({ description: 'Who or what uses the key (shown in the audit trail)', maxLength: 200 })
  name: string;

  @ApiProperty({ type: [String], description: SCOPES_DESCRIPTION, example: ['produce:orders-*', 'consume:orders-*'] })
  scopes: string[];
}

export class KeyDto {
  @ApiProperty({ description: 'The key id: what `keys revoke` and the audit trail name' })
  id: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ type: [String], description: SCOPES_DESCRIPTION })
  scopes: string[];

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: Date;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  revokedAt: Date | null;
}

export class CreatedKeyDto extends KeyDto {
  @ApiProperty({ description: 'The key itself: shown only in this answer (the broker keeps a hash)' })
  key: string;
}

export class KeyListDto {
  @ApiProperty({ type: [KeyDto] })
  keys: KeyDto[];
}

export class AuditEntryDto {
  @ApiProperty()
  id: string;

  @ApiProperty({ type: String, format: 'date-time' })
  at: Date;

  @ApiProperty({ nullable: true, description: 'The key that made the request' })
  keyId: string | null;

  @ApiProperty({ nullable: true })
  keyName: string | null;

  @ApiProperty({ description: 'The operation, as its OpenAPI operationId', example: 'QueuesController_purge' })
  action: string;

  @ApiProperty({ description: 'The request path', example: '/v1/queues/orders/purge' })
  target: string;

  @ApiProperty({ description: 'The HTTP status it answered' })
  status: number;
}

export class AuditListDto {
  @ApiProperty({ type: [AuditEntryDto], description: 'Newest first' })
  entries: AuditEntryDto[];
}

export class RotatedSecretDto {
  @ApiProperty({ description: 'The new signing secret; receipts signed with the one before stay valid' })
  secretId: number;
}
