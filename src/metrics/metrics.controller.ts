import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { MailroomMetrics } from '@mailroom/core';

/**
 * Prometheus scrape endpoint: the library's metrics plus this process's (heap, event loop,
 * CPU). Not in the OpenAPI document, which describes the JSON API; the README lists the metrics.
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MailroomMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
