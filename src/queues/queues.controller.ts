import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Put, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MailroomClient, type QueueInfo } from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { fieldsOf } from '../http/request-body';
import { ApiQueueName, PurgeResultDto, PutQueueDto, QueueDto, QueueListDto } from './queue.dto';

/** Queue administration: thin over MailroomClient, which validates names and options. */
@ApiTags('queues')
@ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1/queues')
export class QueuesController {
  constructor(private readonly mailroom: MailroomClient) {}

  @Put(':name')
  @ApiQueueName()
  @ApiOperation({ summary: 'Create a queue, or change its options' })
  @ApiBody({ type: PutQueueDto, required: false })
  @ApiCreatedResponse({ type: QueueDto, description: 'Created' })
  @ApiOkResponse({ type: QueueDto, description: 'Updated' })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.CONFLICT)
  async put(
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<QueueInfo> {
    // The library names an unknown or out-of-range option itself.
    const { queue, created } = await this.mailroom.createQueue(name, fieldsOf(body));
    response.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return queue;
  }

  @Get()
  @ApiOperation({ summary: 'List queues' })
  @ApiOkResponse({ type: QueueListDto })
  async list(): Promise<{ queues: QueueInfo[] }> {
    return { queues: await this.mailroom.listQueues() };
  }

  @Get(':name')
  @ApiQueueName()
  @ApiOperation({ summary: 'A queue with its options and message counts' })
  @ApiOkResponse({ type: QueueDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.GONE)
  get(@Param('name') name: string): Promise<QueueInfo> {
    return this.mailroom.getQueue(name);
  }

  @Post(':name/pause')
  @ApiQueueName()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Stop deliveries; sends are still accepted' })
  @ApiOkResponse({ type: QueueDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.CONFLICT)
  pause(@Param('name') name: string): Promise<QueueInfo> {
    return this.mailroom.pauseQueue(name);
  }

  @Post(':name/resume')
  @ApiQueueName()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Deliver again' })
  @ApiOkResponse({ type: QueueDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.CONFLICT)
  resume(@Param('name') name: string): Promise<QueueInfo> {
    return this.mailroom.resumeQueue(name);
  }

  @Post(':name/purge')
  @ApiQueueName()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Remove every message not in flight' })
  @ApiOkResponse({ type: PurgeResultDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.GONE)
  purge(@Param('name') name: string): Promise<{ purged: number }> {
    return this.mailroom.purgeQueue(name);
  }

  @Delete(':name')
  @ApiQueueName()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Delete a queue and its messages',
    description: 'Deleting a queue whose deletion was interrupted (a crash mid-way) finishes it.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND)
  async delete(@Param('name') name: string): Promise<void> {
    await this.mailroom.deleteQueue(name);
  }
}
