import { Body, Controller, Get, HttpStatus, Param, Put, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MailroomClient, type TopicInfo } from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { fieldsOf } from '../http/request-body';
import { ApiTopicName, TOPIC_NOT_FOUND, TopicDto, TopicListDto } from './topic.dto';

/** Topic administration: a topic is only a name; its subscriptions decide where messages go. */
@ApiTags('topics')
@ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1/topics')
export class TopicsController {
  constructor(private readonly mailroom: MailroomClient) {}

  @Put(':topic')
  @ApiTopicName()
  @ApiOperation({ summary: 'Create a topic (no body; an existing one is left as it is)' })
  @ApiCreatedResponse({ type: TopicDto, description: 'Created' })
  @ApiOkResponse({ type: TopicDto, description: 'Already existed' })
  @ApiErrors(HttpStatus.BAD_REQUEST)
  async put(
    @Param('topic') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<TopicInfo> {
    // A topic has no options yet: a body with fields is a mistake worth naming.
    fieldsOf(body, []);
    const { topic, created } = await this.mailroom.createTopic(name);
    response.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return topic;
  }

  @Get()
  @ApiOperation({ summary: 'List topics with their subscriptions' })
  @ApiOkResponse({ type: TopicListDto })
  async list(): Promise<{ topics: TopicInfo[] }> {
    return { topics: await this.mailroom.listTopics() };
  }

  @Get(':topic')
  @ApiTopicName()
  @ApiOperation({ summary: 'A topic with its subscriptions' })
  @ApiOkResponse({ type: TopicDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, TOPIC_NOT_FOUND)
  get(@Param('topic') name: string): Promise<TopicInfo> {
    return this.mailroom.getTopic(name);
  }
}
