import type { NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createAppModule, type AppModuleOptions } from './app.module';
import { setupOpenApi } from './http/openapi';

export interface BrokerAppOptions extends AppModuleOptions {
  /** Largest accepted request body (MAILROOM_MAX_REQUEST_BYTES); over it answers 413. */
  maxRequestBytes: number;
  /** Passed to NestFactory.create (tests quiet the logger). */
  nest?: Omit<NestApplicationOptions, 'bodyParser'>;
}

/** The broker app, configured but not listening: main.ts and the e2e tests both start it from here. */
export async function createBrokerApp(options: BrokerAppOptions): Promise<NestExpressApplication> {
  const { maxRequestBytes, nest, ...module } = options;
  const app = await NestFactory.create<NestExpressApplication>(createAppModule(module), {
    ...nest,
    bodyParser: false,
    // Throw instead of exiting, so the caller can stop an embedded PostgreSQL first.
    abortOnError: false,
  });
  // The API speaks only JSON, so every body is parsed as JSON whatever its content-type:
  // a `curl -d` without a JSON header still works, and no body is silently ignored.
  app.useBodyParser('json', { limit: maxRequestBytes, type: () => true });
  app.disable('x-powered-by');
  setupOpenApi(app);
  return app;
}
