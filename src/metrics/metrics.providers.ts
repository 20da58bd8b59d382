import type { Provider } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { MAILROOM_METRICS_OPTIONS, MailroomMetrics, type MailroomMetricsOptions } from '@mailroom/core';

/**
 * The broker's metrics on a registry of its own (not prom-client's global one), so two
 * brokers in one process (the tests) do not collide over metric names.
 */
export function metricsProviders(): Provider[] {
  return [
    {
      provide: MAILROOM_METRICS_OPTIONS,
      useFactory: (): MailroomMetricsOptions => {
        const registry = new Registry();
        collectDefaultMetrics({ register: registry });
        return { registry };
      },
    },
    MailroomMetrics,
  ];
}
