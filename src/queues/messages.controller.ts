import { Body, Controller, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MailroomClient, type OutgoingMessage, type SendResult } from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { batchOf, messageOf } from '../http/message-fields';
import { oneOf } from '../http/openapi';
import { fieldsOf } from '../http/request-body';
import { stampOf } from '../producers/producer-stamp';
import { SendBatchDto, SendBatchResultDto, SendMessageDto, SendResultDto } from './message.dto';
import { ApiQueueName } from './queue.dto';

/** Sending: one message, or a batch stored all or nothing; either may carry an idempotent producer's stamp. */
@ApiTags('messages')
@ApiExtraModels(SendMessageDto, SendBatchDto, SendResultDto, SendBatchResultDto)
@ApiQueueName()
@ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1/queues')
export class MessagesController {
  constructor(private readonly mailroom: MailroomClient) {}

  @Post(':name/messages')
  @ApiOperation({
    summary: 'Send a message, or a batch of up to 1000 ({ messages: [...] }), all or nothing',
    description:
      'Resolves once the messages are committed. A client-supplied id seen within the dedup window is stored once; ' +
      "so is a retry of an idempotent producer's sequence.",
  })
  @ApiBody({ schema: oneOf(SendMessageDto, SendBatchDto) })
  @ApiCreatedResponse({
    schema: oneOf(SendResultDto, SendBatchResultDto),
    description: 'Stored (or found a duplicate)',
  })
  @ApiErrors(
    HttpStatus.BAD_REQUEST,
    HttpStatus.NOT_FOUND,
    [
      HttpStatus.CONFLICT,
      'producer_fenced (a newer instance of the producer was initialised) or sequence_gap; nothing stored',
    ],
    HttpStatus.GONE,
    HttpStatus.PAYLOAD_TOO_LARGE,
  )
  async send(@Param('name') name: string, @Body() body: unknown): Promise<SendResult | { messages: SendResult[] }> {
    const { producer, ...fields } = fieldsOf(body);
    const stamp = stampOf(producer);
    if ('messages' in fields) {
      const messages = batchOf(fields) as OutgoingMessage[];
      return { messages: await this.mailroom.sendBatch(name, messages, { producer: stamp }) };
    }
    const message = messageOf(fields);
    return this.mailroom.send(name, message.body, {
      ...(message.options as Omit<OutgoingMessage, 'body'>),
      producer: stamp,
    });
  }
}
