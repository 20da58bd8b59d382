import { Body, Controller, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  InvalidRequestError,
  MailroomClient,
  type OutgoingMessage,
  type ProducerStamp,
  type SendResult,
} from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { batchOf, messageOf } from '../http/message-fields';
import { oneOf } from '../http/openapi';
import { fieldsOf, type Fields } from '../http/request-body';
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
    if (stamp) return this.sendStamped(name, fields, stamp);
    const message = messageOf(fields);
    return this.mailroom.send(name, message.body, message.options as Omit<OutgoingMessage, 'body'>);
  }

  /**
   * client.send takes no producer stamp yet (it would read one as a message field), so a
   * stamped message goes as a batch of one, its errors renamed to name the fields as
   * for one message (`body`, not `messages[0].body`).
   */
  private async sendStamped(name: string, fields: Fields, stamp: ProducerStamp): Promise<SendResult> {
    try {
      const [result] = await this.mailroom.sendBatch(name, [fields as unknown as OutgoingMessage], { producer: stamp });
      return result;
    } catch (error) {
      const prefix = 'messages[0].';
      if (!(error instanceof InvalidRequestError) || !error.field.startsWith(prefix)) throw error;
      // The message reads "<field>: <what is wrong>".
      throw new InvalidRequestError(error.field.slice(prefix.length), error.message.slice(error.field.length + 2));
    }
  }
}
