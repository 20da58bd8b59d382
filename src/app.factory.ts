import type { NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createAppModule, type AppModuleOptions } from './app.module';
import { MailroomClient } from '@mailroom/core';
import { BATCH_FRAMING_BYTES, jsonBody } from './http/json-body';
import { setupOpenApi } from './http/openapi';

export interface BrokerAppOptions extends AppModuleOptions {
  /**
   * Largest accepted request body (MAILROOM_MAX_REQUEST_BYTES); over it answers 413.
   * Unset: the largest maxMessageBytes of any queue plus BATCH_FRAMING_BYTES, so memory
   * per request follows what the queues can actually take.
   */
  maxRequestBytes?: number;
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
  const mailroom = app.get(MailroomClient);
  const limit =
    maxRequestBytes === undefined
      ? async () => (await mailroom.largestMessageBytes()) + BATCH_FRAMING_BYTES
      : async () => maxRequestBytes;
  app.use(jsonBody(limit));
  app.disable('x-powered-by');
  setupOpenApi(app);
  return app;
}
