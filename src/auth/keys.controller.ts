import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { InvalidRequestError, MailroomError } from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { integerParam, paramsOf } from '../http/query-params';
import { fieldsOf } from '../http/request-body';
import { AuditService, type AuditEntry } from './audit.service';
import { AuditListDto, CreatedKeyDto, CreateKeyDto, KeyListDto, RotatedSecretDto } from './keys.dto';
import { KeysService, type KeyInfo } from './keys.service';
import { ReceiptSigner } from './receipts';

/** No live key has this id. */
export class KeyNotFoundError extends MailroomError {
  readonly code = 'key_not_found';
  constructor(id: string) {
    super(`No live API key has id "${id}" (list them: GET /v1/keys).`);
  }
}

/** Access administration (admin scope): keys, the audit trail, receipt secrets. */
@ApiTags('access')
@ApiErrors(HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1')
export class KeysController {
  constructor(
    private readonly keys: KeysService,
    private readonly audits: AuditService,
    private readonly receipts: ReceiptSigner,
  ) {}

  @Post('keys')
  @ApiOperation({ summary: 'Create an API key; the key is in this answer only' })
  @ApiBody({ type: CreateKeyDto })
  @ApiCreatedResponse({ type: CreatedKeyDto })
  @ApiErrors(HttpStatus.BAD_REQUEST)
  create(@Body() body: unknown): Promise<KeyInfo & { key: string }> {
    const fields = fieldsOf(body, ['name', 'scopes']);
    return this.keys.create(fields.name, fields.scopes);
  }

  @Get('keys')
  @ApiOperation({ summary: 'List API keys (never the keys themselves)' })
  @ApiOkResponse({ type: KeyListDto })
  async list(): Promise<{ keys: KeyInfo[] }> {
    return { keys: await this.keys.list() };
  }

  @Delete('keys/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Revoke an API key: every broker sharing the database refuses it from now on' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrors([HttpStatus.NOT_FOUND, 'key_not_found: no live key has this id'])
  async revoke(@Param('id') id: string): Promise<void> {
    if (!(await this.keys.revoke(id))) throw new KeyNotFoundError(id);
  }

  @Get('audit')
  @ApiOperation({ summary: 'The audit trail: management and admin requests, newest first' })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 1000 (default 100)' })
  @ApiOkResponse({ type: AuditListDto })
  @ApiErrors(HttpStatus.BAD_REQUEST)
  async audit(@Query() query: Record<string, unknown>): Promise<{ entries: AuditEntry[] }> {
    const limit = integerParam(paramsOf(query, ['limit']), 'limit') ?? 100;
    if (limit < 1 || limit > 1000) throw new InvalidRequestError('limit', 'must be from 1 to 1000');
    return { entries: await this.audits.list(limit) };
  }

  @Post('receipt-secrets/rotate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Start signing receipts with a new secret',
    description: 'Receipts signed with the previous secret stay valid; those signed before it stop verifying (409).',
  })
  @ApiOkResponse({ type: RotatedSecretDto })
  rotateReceiptSecret(): Promise<{ secretId: number }> {
    return this.receipts.rotate();
  }
}
