import { Body, Controller, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MailroomClient, type Publication, type PublishResult } from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { batchOf, messageOf } from '../http/message-fields';
import { oneOf } from '../http/openapi';
import { fieldsOf } from '../http/request-body';
import {
  ApiTopicName,
  PublicationDto,
  PublishBatchDto,
  PublishBatchResultDto,
  PublishResultDto,
  TOPIC_NOT_FOUND,
} from './topic.dto';

/** Publishing: one message or a batch, copied to every matching subscription's queue all or nothing. */
@ApiTags('topics')
@ApiExtraModels(PublicationDto, PublishBatchDto, PublishResultDto, PublishBatchResultDto)
@ApiTopicName()
@ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1/topics')
export class PublishController {
  constructor(private readonly mailroom: MailroomClient) {}

  @Post(':topic/messages')
  @ApiOperation({
    summary: 'Publish a message, or a batch of up to 1000 ({ messages: [...] }), all or nothing',
    description:
      'Each matching subscription gets a copy in its queue, in the same transaction; deliveredTo counts them ' +
      '(0 when none matched: nothing is kept). A client-supplied id is stored once per queue within its dedup window.',
  })
  @ApiBody({ schema: oneOf(PublicationDto, PublishBatchDto) })
  @ApiCreatedResponse({ schema: oneOf(PublishResultDto, PublishBatchResultDto), description: 'Published' })
  @ApiErrors(HttpStatus.BAD_REQUEST, TOPIC_NOT_FOUND, HttpStatus.PAYLOAD_TOO_LARGE)
  async publish(
    @Param('topic') topic: string,
    @Body() body: unknown,
  ): Promise<PublishResult | { messages: PublishResult[] }> {
    const fields = fieldsOf(body);
    if ('messages' in fields) {
      return { messages: await this.mailroom.publishBatch(topic, batchOf(fields) as Publication[]) };
    }
    const message = messageOf(fields);
    return this.mailroom.publish(topic, message.body, message.options as Omit<Publication, 'body'>);
  }
}
