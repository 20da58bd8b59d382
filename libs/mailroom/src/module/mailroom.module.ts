import { Inject, Injectable, Module, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { MailroomClient } from '../client/mailroom.client';
import { ConfigurableModuleClass, MAILROOM_OPTIONS } from './mailroom.module-definition';
import type { MailroomOptions } from './mailroom.options';

/** Starts Mailroom with the app and, on shutdown, releases its leases before the DataSource closes. */
@Injectable()
class MailroomLifecycle implements OnModuleInit, BeforeApplicationShutdown {
  constructor(@Inject(MailroomClient) private readonly client: MailroomClient) {}

  onModuleInit(): Promise<void> {
    return this.client.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.client.close();
  }
}

/**
 * `MailroomModule.forRoot({...})` / `forRootAsync({ useFactory, inject })`. Mailroom uses
 * the app's TypeORM DataSource (the default one unless `dataSource` is given); its
 * tables come from `mailroomMigrations`, run by the app's migrations.
 */
@Module({
  providers: [
    {
      provide: MailroomClient,
      inject: [MAILROOM_OPTIONS, ModuleRef],
      useFactory: (options: MailroomOptions, moduleRef: ModuleRef) =>
        new MailroomClient(options.dataSource ?? moduleRef.get(DataSource, { strict: false }), options),
    },
    MailroomLifecycle,
  ],
  exports: [MailroomClient],
})
export class MailroomModule extends ConfigurableModuleClass {}
