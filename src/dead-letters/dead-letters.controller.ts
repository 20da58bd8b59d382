import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MailroomClient, type DeadLetter, type DeadLetterFilter, type DeadLetterReason } from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { ClientGone } from '../http/client-gone.decorator';
import { integerParam, paramsOf } from '../http/query-params';
import {
  fieldsOf,
  optionalBoolean,
  optionalInteger,
  optionalString,
  optionalStringArray,
  type Fields,
} from '../http/request-body';
import { ShutdownSignal } from '../http/shutdown.signal';
import { ApiQueueName } from '../queues/queue.dto';
import {
  ApiDeadLetterId,
  ApiDeadLetterQuery,
  DEAD_LETTER_NOT_FOUND,
  DeadLetterDto,
  DeadLetterPageDto,
  PurgeDeadLettersDto,
  PurgeDeadLettersResultDto,
  REDRIVE_NOT_FOUND,
  RedriveRequestDto,
  RedriveResultDto,
} from './dead-letter.dto';
import { DeadLetterNotFoundError } from './dead-letter.errors';

/**
 * A queue's dead letters, found by the queue they failed in whichever DLQ holds them.
 * They outlive that queue, so its existence is checked only when nothing matched: a
 * misspelt name is a 404 instead of an empty answer, and the dead letters of a queue
 * deleted since stay reachable.
 */
@ApiTags('dead letters')
@ApiQueueName()
@ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1/queues')
export class DeadLettersController {
  constructor(
    private readonly mailroom: MailroomClient,
    private readonly shutdown: ShutdownSignal,
  ) {}

  @Get(':name/dead-letters')
  @ApiDeadLetterQuery()
  @ApiOperation({ summary: "A page of the queue's dead letters, oldest first" })
  @ApiOkResponse({ type: DeadLetterPageDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.GONE)
  async list(
    @Param('name') name: string,
    @Query() query: Record<string, unknown>,
  ): Promise<{ deadLetters: DeadLetter[]; nextCursor: string | null }> {
    const params = paramsOf(query, ['limit', 'cursor', 'reason']);
    const page = await this.mailroom.listDeadLetters(name, {
      limit: integerParam(params, 'limit'),
      cursor: params.cursor,
      reason: params.reason,
    });
    if (page.deadLetters.length === 0) await this.mailroom.getQueue(name);
    return page;
  }

  @Get(':name/dead-letters/:id')
  @ApiDeadLetterId()
  @ApiOperation({ summary: 'One dead letter, with its body and last failure' })
  @ApiOkResponse({ type: DeadLetterDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, DEAD_LETTER_NOT_FOUND, HttpStatus.GONE)
  async get(@Param('name') name: string, @Param('id') id: string): Promise<DeadLetter> {
    const deadLetter = await this.mailroom.getDeadLetter(name, id);
    if (deadLetter) return deadLetter;
    await this.mailroom.getQueue(name);
    throw new DeadLetterNotFoundError(name, id);
  }

  @Post(':name/dead-letters/redrive')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Move dead letters back to their queue (or `to`) as fresh messages, oldest first',
    description:
      'Moves in batches, each its own transaction. Give `limit` to move a slice and answer; repeat while ' +
      'moved equals limit. A client that disconnects, or a broker shutdown, stops it between batches.',
  })
  @ApiBody({ type: RedriveRequestDto })
  @ApiOkResponse({ type: RedriveResultDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, REDRIVE_NOT_FOUND, HttpStatus.GONE)
  async redrive(
    @Param('name') name: string,
    @Body() body: unknown,
    @ClientGone() clientGone: AbortSignal,
  ): Promise<{ moved: number; remaining: number }> {
    const fields = fieldsOf(body, ['ids', 'all', 'reason', 'to', 'ratePerSecond', 'limit']);
    const filter = filterOf(fields);
    const { moved } = await this.mailroom.redriveDeadLetters(name, {
      ...filter,
      to: optionalString(fields, 'to'),
      ratePerSecond: optionalInteger(fields, 'ratePerSecond'),
      limit: optionalInteger(fields, 'limit'),
      // A long (rate-limited) redrive stops between committed batches when nobody waits for it.
      signal: AbortSignal.any([clientGone, this.shutdown.signal]),
    });
    if (moved === 0) await this.mailroom.getQueue(name);
    return { moved, remaining: await this.mailroom.countDeadLetters(name, filter) };
  }

  @Post(':name/dead-letters/purge')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Delete dead letters for good: some ids, or all: true (an empty filter is refused)',
  })
  @ApiBody({ type: PurgeDeadLettersDto })
  @ApiOkResponse({ type: PurgeDeadLettersResultDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.GONE)
  async purge(@Param('name') name: string, @Body() body: unknown): Promise<{ purged: number }> {
    const result = await this.mailroom.purgeDeadLetters(name, filterOf(fieldsOf(body, ['ids', 'all', 'reason'])));
    if (result.purged === 0) await this.mailroom.getQueue(name);
    return result;
  }
}

/** Which dead letters: the library refuses an empty filter, so "everything" is always asked for by name. */
function filterOf(fields: Fields): DeadLetterFilter {
  return {
    ids: optionalStringArray(fields, 'ids'),
    all: optionalBoolean(fields, 'all'),
    reason: optionalString(fields, 'reason') as DeadLetterReason | undefined,
  };
}
