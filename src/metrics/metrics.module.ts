import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { metricsProviders } from './metrics.providers';

/** GET /metrics: MailroomMetrics on the broker's own registry. */
@Module({ controllers: [MetricsController], providers: metricsProviders() })
export class MetricsModule {}
