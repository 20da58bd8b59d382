import { Body, Controller, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiExtraModels, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { InvalidRequestError, MailroomClient, type OutgoingMessage, type SendResult } from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { fieldsOf, type Fields } from '../http/request-body';
import { MAX_BATCH, OutgoingMessageDto, SendBatchDto, SendBatchResultDto, SendResultDto } from './message.dto';
import { ApiQueueName } from './queue.dto';

const oneOf = (...models: Function[]) => ({ oneOf: models.map((model) => ({ $ref: getSchemaPath(model) })) });

/** Sending: one message, or a batch stored all or nothing. */
@ApiTags('messages')
@ApiExtraModels(OutgoingMessageDto, SendBatchDto, SendResultDto, SendBatchResultDto)
@ApiQueueName()
@ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1/queues')
export class MessagesController {
  constructor(private readonly mailroom: MailroomClient) {}

  @Post(':name/messages')
  @ApiOperation({
    summary: 'Send a message, or a batch of up to 1000 ({ messages: [...] }), all or nothing',
    description:
      'Resolves once the messages are committed. A client-supplied id seen within the dedup window is stored once.',
  })
  @ApiBody({ schema: oneOf(OutgoingMessageDto, SendBatchDto) })
  @ApiCreatedResponse({
    schema: oneOf(SendResultDto, SendBatchResultDto),
    description: 'Stored (or found a duplicate)',
  })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.GONE, HttpStatus.PAYLOAD_TOO_LARGE)
  async send(@Param('name') name: string, @Body() body: unknown): Promise<SendResult | { messages: SendResult[] }> {
    const fields = fieldsOf(body);
    if ('messages' in fields) return { messages: await this.mailroom.sendBatch(name, batchOf(fields)) };
    const [result] = await this.mailroom.sendBatch(name, [fields as unknown as OutgoingMessage]);
    return result;
  }
}

/**
 * `{ messages: [...] }` checked as an envelope. Each message's fields are checked by the
 * library (encodeMessage takes unknown input), which names the one at fault.
 */
function batchOf(fields: Fields): OutgoingMessage[] {
  const { messages } = fieldsOf(fields, ['messages']);
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH) {
    throw new InvalidRequestError('messages', `must be an array of 1 to ${MAX_BATCH} messages`);
  }
  // The library checks this too, but names the field "messages[i]." with a stray dot.
  messages.forEach((message, i) => fieldsOf(message, undefined, `messages[${i}]`));
  return messages as OutgoingMessage[];
}
