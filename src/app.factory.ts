import type { LoggerService, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createAppModule, type AppModuleOptions } from './app.module';
import { MailroomClient } from '@mailroom/core';
import { authenticate } from './auth/authenticate';
import { dashboardLogin } from './auth/dashboard-login';
import { KeysService } from './auth/keys.service';
import { BATCH_FRAMING_BYTES, jsonBody, sameOriginForms, urlencoded } from './http/json-body';
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
  /** MAILROOM_CORS_ORIGINS: origins browsers may call from; none (CORS closed) when empty or unset. */
  corsOrigins?: string[];
  /** Passed to NestFactory.create (tests quiet the logger). */
  nest?: Omit<NestApplicationOptions, 'bodyParser'>;
}

/** The broker app, configured but not listening: main.ts and the e2e tests both start it from here. */
export async function createBrokerApp(options: BrokerAppOptions): Promise<NestExpressApplication> {
  const { maxRequestBytes, corsOrigins = [], nest, requestLog: requestLogger, ...module } = options;
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
  // First, so refused requests (401, 415, 429) are logged too.
  if (requestLogger) app.use(requestLog(requestLogger));
  // Before the key check, so a preflight (which carries no key) is answered by CORS alone.
  if (corsOrigins.length > 0)
    app.enableCors({ origin: corsOrigins, allowedHeaders: ['authorization', 'content-type'] });
  // Before anything reads a body or serves a page: no key, no work.
  const keys = app.get(KeysService);
  app.use(authenticate(keys, module.auth));
  app.use(dashboardLogin(keys));
  // The dashboard's forms post urlencoded; body-parser marks them parsed, so jsonBody passes them by.
  app.use('/dashboard', sameOriginForms, urlencoded({ extended: false, limit: '16kb' }));
  app.use(jsonBody(limit));
  app.disable('x-powered-by');
  setupOpenApi(app);
  return app;
}
