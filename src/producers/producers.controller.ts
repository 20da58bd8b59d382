import { Body, Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MailroomClient } from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { fieldsOf, optionalBoolean } from '../http/request-body';
import { ApiProducerId, InitProducerDto, ProducerDto } from './producer.dto';

/** Idempotent producers: an instance is an epoch; its sends carry (id, epoch, sequence). */
@ApiTags('producers')
@ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1/producers')
export class ProducersController {
  constructor(private readonly mailroom: MailroomClient) {}

  @Post(':id/init')
  @ApiProducerId()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Start an instance of a producer: a new epoch that fences every older instance',
    description:
      'Send with producer: { id, epoch, sequence }, sequence counting from 0. A zombie instance (an older ' +
      'epoch) is refused with 409 producer_fenced; a retried sequence returns its original result.',
  })
  @ApiBody({ type: InitProducerDto, required: false })
  @ApiOkResponse({ type: ProducerDto })
  @ApiErrors(HttpStatus.BAD_REQUEST)
  async init(@Param('id') id: string, @Body() body: unknown): Promise<{ id: string; epoch: number }> {
    const fields = fieldsOf(body, ['rejectGaps']);
    const producer = await this.mailroom.producer(id, { rejectGaps: optionalBoolean(fields, 'rejectGaps') });
    return { id: producer.id, epoch: producer.epoch };
  }
}
