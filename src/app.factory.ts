import type { LoggerService, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createAppModule, type AppModuleOptions } from './app.module';
import { MailroomClient } from '@mailroom/core';
import { BATCH_FRAMING_BYTES, jsonBody, urlencoded } from './http/json-body';
import { setupOpenApi } from './http/openapi';
import { requestLog } from './logging/request.log';

export interface BrokerAppOptions extends AppModuleOptions {
  /**
   * Largest accepted request body (MAILROOM_MAX_REQUEST_BYTES); over it answers 413.
   * Unset: the largest maxMessageBytes of any queue plus BATCH_FRAMING_BYTES, so memory
   * per request follows what the queues can actually take.
   */
  maxRequestBytes?: number;
  /** Logs a line per HTTP request (method, route, status, duration) when given. */
  requestLog?: LoggerService;
  /** Passed to NestFactory.create (tests quiet the logger). */
  nest?: Omit<NestApplicationOptions, 'bodyParser'>;
}

/** The broker app, configured but not listening: main.ts and the e2e tests both start it from here. */
export async function createBrokerApp(options: BrokerAppOptions): Promise<NestExpressApplication> {
  const { maxRequestBytes, nest, requestLog: requestLogger, ...module } = options;
  const app = await NestFactory.create<NestExpressApplication>(createAppModule(module), {
    ...nest,
    bodyParser: false,
    // Throw instead of exiting, so the caller can stop an embedded PostgreSQL first.
    abortOnError: false,
  });
  const queues = app.get(MailroomClient).queues;
  const limit =
    maxRequestBytes === undefined
      ? async () => (await queues.largestMessageBytes()) + BATCH_FRAMING_BYTES
      : async () => maxRequestBytes;
  if (requestLogger) app.use(requestLog(requestLogger));
  // The dashboard's forms post urlencoded; body-parser marks them parsed, so jsonBody passes them by.
  app.use('/dashboard', urlencoded({ extended: false, limit: '16kb' }));
  app.use(jsonBody(limit));
  app.disable('x-powered-by');
  setupOpenApi(app);
  return app;
}
