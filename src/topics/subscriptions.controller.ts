import { Body, Controller, Delete, HttpCode, HttpStatus, Param, Post, Put, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MailroomClient, type SubscribeOptions, type SubscriptionInfo } from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { fieldsOf } from '../http/request-body';
import {
  ApiSubscriptionName,
  ApiTopicName,
  PutSubscriptionDto,
  SUBSCRIPTION_NOT_FOUND,
  SubscriptionDto,
} from './topic.dto';

/** Subscriptions: each binds a topic to a queue, with routing-key and header filters. */
@ApiTags('topics')
@ApiTopicName()
@ApiSubscriptionName()
@ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1/topics')
export class SubscriptionsController {
  constructor(private readonly mailroom: MailroomClient) {}

  @Put(':topic/subscriptions/:name')
  @ApiOperation({
    summary: 'Subscribe (creating its queue "<topic>.<name>" unless `queue` names one), or change its filter',
    description: 'Consume the subscription through its queue, with the /v1/queues endpoints.',
  })
  @ApiBody({ type: PutSubscriptionDto, required: false })
  @ApiCreatedResponse({ type: SubscriptionDto, description: 'Created' })
  @ApiOkResponse({ type: SubscriptionDto, description: 'Updated' })
  @ApiErrors(
    HttpStatus.BAD_REQUEST,
    [HttpStatus.NOT_FOUND, 'topic_not_found, or queue_not_found for `queue`'],
    [HttpStatus.CONFLICT, 'invalid_transition: the subscription feeds another queue; nothing changed'],
  )
  async put(
    @Param('topic') topic: string,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<SubscriptionInfo> {
    // The library checks each option's value (patterns, header values, queue options).
    const options = fieldsOf(body, ['queue', 'routingKey', 'headers', 'queueOptions']) as SubscribeOptions;
    const { subscription, created } = await this.mailroom.subscribe(topic, name, options);
    response.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return subscription;
  }

  @Post(':topic/subscriptions/:name/pause')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Hold deliveries back: copies are still made, and delivered once resumed' })
  @ApiOkResponse({ type: SubscriptionDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, SUBSCRIPTION_NOT_FOUND)
  pause(@Param('topic') topic: string, @Param('name') name: string): Promise<SubscriptionInfo> {
    return this.mailroom.pauseSubscription(topic, name);
  }

  @Post(':topic/subscriptions/:name/resume')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Deliver again, starting with the copies made while paused' })
  @ApiOkResponse({ type: SubscriptionDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, SUBSCRIPTION_NOT_FOUND)
  resume(@Param('topic') topic: string, @Param('name') name: string): Promise<SubscriptionInfo> {
    return this.mailroom.resumeSubscription(topic, name);
  }

  @Delete(':topic/subscriptions/:name')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Unsubscribe: no more copies; its queue and the messages in it stay' })
  @ApiNoContentResponse({ description: 'Detached' })
  @ApiErrors(HttpStatus.BAD_REQUEST, SUBSCRIPTION_NOT_FOUND)
  async delete(@Param('topic') topic: string, @Param('name') name: string): Promise<void> {
    await this.mailroom.unsubscribe(topic, name);
  }
}
