import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { MailroomMetrics } from '@mailroom/core';

/** Prometheus scrape endpoint: the library's metrics plus this process's (heap, event loop, CPU). */
@ApiTags('health')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MailroomMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text format; queue depth gauges are at most depthIntervalMs old' })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
