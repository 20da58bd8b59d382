import {
  Inject,
  type DynamicModule,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { MailroomClient } from '../client/mailroom.client';
import { MailroomServices, servicesOf } from '../services/mailroom.services';
import { mailroomEvents, MailroomEvents } from '../handlers/handler.events';
import { HandlerExplorer } from '../handlers/handler.explorer';
import { WorkflowExplorer } from '../workflow/workflow.explorer';
import { Workflows } from '../workflow/workflow.service';
import { MailroomEventsExplorer } from './mailroom-events.explorer';
import { MailroomHealthIndicator } from './mailroom.health';
import { ConfigurableModuleClass, MAILROOM_OPTIONS } from './mailroom.module-definition';
import { featureProvider, type MailroomFeature } from './mailroom.feature';
import type { MailroomOptions } from '../client/mailroom.options';

/**
 * Starts Mailroom with the app: the client (LISTEN, reaper) at module init, the handlers
 * once every module is ready. On shutdown the handlers stop first (running calls finish,
 * unstarted messages are released), then the client, all before the DataSource closes.
 */
@Injectable()
class MailroomLifecycle implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(MailroomClient) private readonly client: MailroomClient,
    private readonly handlers: HandlerExplorer,
    private readonly workflows: WorkflowExplorer,
  ) {}

  onModuleInit(): Promise<void> {
    return this.client.start();
  }

  /** A start that fails (a handler's mistake) stops what did start: Nest closes nothing then. */
  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.handlers.start();
      await this.workflows.start();
    } catch (error) {
      await this.beforeApplicationShutdown().catch(() => undefined);
      throw error;
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.workflows.stop();
    await this.handlers.stop();
    await this.client.close();
  }
}

@Module({})
class MailroomFeatureModule {}

/**
 * `MailroomModule.forRoot({...})` / `forRootAsync({ useFactory, inject })`. Mailroom uses
 * the app's TypeORM DataSource (the default one unless `dataSource` is given); its
 * tables come from `mailroomMigrations`, run by the app's migrations.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: MailroomClient,
      // The app's default DataSource (TypeOrmModule's), injected so it is ready first.
      inject: [MAILROOM_OPTIONS, { token: DataSource, optional: true }],
      useFactory: (options: MailroomOptions, appDataSource?: DataSource) => {
        const dataSource = options.dataSource ?? appDataSource;
        if (!dataSource) {
          throw new Error(
            'MailroomModule needs a TypeORM DataSource: import TypeOrmModule.forRoot(...) or pass `dataSource` in its options.',
          );
        }
        return new MailroomClient(dataSource, options);
      },
    },
    // The client's internal services, for the explorers and Workflows (not exported: apps use the client).
    { provide: MailroomServices, inject: [MailroomClient], useFactory: servicesOf },
    { provide: MailroomEvents, inject: [MailroomServices], useFactory: mailroomEvents },
    HandlerExplorer,
    MailroomEventsExplorer,
    MailroomHealthIndicator,
    Workflows,
    WorkflowExplorer,
    MailroomLifecycle,
  ],
  // MailroomServices too: @ExactlyOnce's interceptor is instantiated in the app's own modules.
  exports: [MailroomClient, MailroomServices, MailroomEvents, MailroomHealthIndicator, Workflows],
})
export class MailroomModule extends ConfigurableModuleClass {
  /** Queues, topics and subscriptions this feature module relies on, created or updated at start. */
  static forFeature(feature: MailroomFeature): DynamicModule {
    // A module of its own: reusing MailroomModule here would create a second client.
    return { module: MailroomFeatureModule, providers: [featureProvider(feature)] };
  }
}
