import { Module, type DynamicModule, type INestApplicationContext, type Provider, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mailroomEntities, MailroomModule, type MailroomOptions } from '@mailroom/core';

/**
 * A Nest application context with Mailroom on the test database (already migrated) and
 * the given providers, started (handlers running) and ready to close.
 */
export async function startNestApp(
  url: string,
  providers: Provider[],
  options: MailroomOptions = {},
  imports: (Type<unknown> | DynamicModule)[] = [],
): Promise<INestApplicationContext> {
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', url, entities: mailroomEntities, retryAttempts: 1 }),
      MailroomModule.forRoot({ reaperIntervalMs: 100, pollIntervalMs: 200, ...options }),
      ...imports,
    ],
    providers,
  })
  class TestAppModule {}
  return NestFactory.createApplicationContext(TestAppModule, { logger: ['error', 'warn'], abortOnError: false });
}
