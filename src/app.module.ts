import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { MailroomModule, type MailroomOptions } from '@mailroom/core';
import { dataSourceOptions, DEFAULT_TIMEOUTS, type DatabaseTimeouts } from './database/data-source-options';
import { AuditService } from './auth/audit.service';
import { AUTH_OPTIONS, type AuthOptions } from './auth/auth.options';
import { KeyStore, PREPARED_STATEMENTS } from './auth/key-store';
import { KeysController } from './auth/keys.controller';
import { KeysService } from './auth/keys.service';
import { ReceiptSigner } from './auth/receipts';
import { ScopeGuard } from './auth/scope.guard';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { HealthController } from './health/health.controller';
import { MetricsModule } from './metrics/metrics.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { ErrorFilter } from './http/error.filter';
import { ShutdownSignal } from './http/shutdown.signal';
import { DeliveriesController } from './queues/deliveries.controller';
import { MessagesController } from './queues/messages.controller';
import { ProducersController } from './producers/producers.controller';
import { QueuesController } from './queues/queues.controller';
import { PublishController } from './topics/publish.controller';
import { SubscriptionsController } from './topics/subscriptions.controller';
import { TopicsController } from './topics/topics.controller';
import { WorkflowsController } from './workflows/workflows.controller';

export interface AppModuleOptions {
  databaseUrl: string;
  /** Run pending migrations when the DataSource starts (MAILROOM_MIGRATE). */
  migrate: boolean;
  /** PostgreSQL itself when databaseUrl is a transaction pooler (DATABASE_DIRECT_URL): LISTEN goes here. */
  databaseDirectUrl?: string;
  /** MAILROOM_PREPARED_STATEMENTS: false behind a transaction pooler without prepared-statement support. */
  preparedStatements?: boolean;
  /** Bounds on database work (default DEFAULT_TIMEOUTS). */
  timeouts?: DatabaseTimeouts;
  /** Mailroom's own options (poll and reaper intervals...); tests make them short. */
  mailroom?: Omit<MailroomOptions, 'dataSource'>;
  /** Who may do what (see AuthOptions). */
  auth: AuthOptions;
}

@Module({})
class AppModule {}

/** The broker as a module, built from its settings so tests can point it at their own database. */
export function createAppModule(options: AppModuleOptions): DynamicModule {
  return {
    module: AppModule,
    imports: [
      TypeOrmModule.forRootAsync({
        useFactory: () => ({
          ...dataSourceOptions(options.databaseUrl, options.migrate, options.timeouts ?? DEFAULT_TIMEOUTS, {
            pooled: options.preparedStatements === false,
          }),
          // A wrong URL or a down server should fail the start within seconds, not minutes.
          retryAttempts: 2,
          retryDelay: 1000,
        }),
      }),
      // The DataSource is injected rather than looked up, so Mailroom starts only once it is ready.
      MailroomModule.forRootAsync({
        inject: [DataSource],
        // HTTP consumers hold receipts across a broker restart (or settle them on another node):
        // releasing leases on close would turn their next ack into lease_lost.
        useFactory: (dataSource: DataSource) => ({
          releaseLeasesOnClose: false,
          preparedStatements: options.preparedStatements,
          directConnection: options.databaseDirectUrl,
          ...options.mailroom,
          dataSource,
        }),
      }),
      TerminusModule,
      MetricsModule,
      DashboardModule,
    ],
    controllers: [
      QueuesController,
      MessagesController,
      DeliveriesController,
      DeadLettersController,
      TopicsController,
      SubscriptionsController,
      PublishController,
      ProducersController,
      HealthController,
      WorkflowsController,
      KeysController,
    ],
    providers: [
      { provide: APP_FILTER, useClass: ErrorFilter },
      { provide: APP_GUARD, useClass: ScopeGuard },
      { provide: AUTH_OPTIONS, useValue: options.auth },
      ShutdownSignal,
      KeyStore,
      { provide: PREPARED_STATEMENTS, useValue: options.preparedStatements !== false },
      KeysService,
      AuditService,
      ReceiptSigner,
    ],
  };
}
