import { Inject, type OnModuleInit, type Provider } from '@nestjs/common';
import { MailroomClient } from '../client/mailroom.client';
import type { QueueOptionsInput } from '../queue/queue.options';
import type { SubscribeOptions } from '../subscription/subscription.service';

/** What one feature module declares; created or updated when the app starts. */
export interface MailroomFeature {
  queues?: Record<string, QueueOptionsInput>;
  topics?: Record<string, { subscriptions?: Record<string, SubscribeOptions> }>;
}

let features = 0;

/**
 * A provider that declares the feature's queues, topics and subscriptions at module init:
 * after the DataSource is up and before any handler starts (handlers start at bootstrap),
 * so handlers find their queues configured as declared here.
 */
export function featureProvider(feature: MailroomFeature): Provider {
  features += 1;
  class MailroomFeatureDeclarations implements OnModuleInit {
    constructor(@Inject(MailroomClient) private readonly client: MailroomClient) {}

    async onModuleInit(): Promise<void> {
      for (const [name, options] of Object.entries(feature.queues ?? {})) await this.client.createQueue(name, options);
      for (const [topic, { subscriptions = {} }] of Object.entries(feature.topics ?? {})) {
        await this.client.createTopic(topic);
        for (const [name, options] of Object.entries(subscriptions)) await this.client.subscribe(topic, name, options);
      }
    }
  }
  return { provide: `MAILROOM_FEATURE_${features}`, useClass: MailroomFeatureDeclarations };
}
