import type { LoggerService, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createAppModule, type AppModuleOptions } from './app.module';
import { MailroomClient } from '@mailroom/core';
import { auditBeforeAnswer, AuditService } from './auth/audit.service';
import { authenticate } from './auth/authenticate';
import { dashboardLogin } from './auth/dashboard-login';
import { KeysService } from './auth/keys.service';
import { sameOriginForms } from './http/forms';
import { ShutdownSignal } from './http/shutdown.signal';
import { BATCH_FRAMING_BYTES, readBody, refuseUnreadableBodies } from './http/json-body';
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

/**
 * The broker app, configured but not listening: main.ts and the e2e tests both start it from here.
 *
 * On Fastify rather than Express: a profile of single sends spent 54% of the broker's CPU in
 * Express, body-parser, its router and response path (an ETag SHA-1 of every answer alone
 * 5%); see bench/PROFILE-rest.md. Fastify sends no ETag and no X-Powered-By, and keeps
 * connections alive (72 s idle).
 */
export async function createBrokerApp(options: BrokerAppOptions): Promise<NestFastifyApplication> {
  const { maxRequestBytes, corsOrigins = [], nest, requestLog: requestLogger, ...module } = options;
  const adapter = new FastifyAdapter({
    // As Express matched: /V1/Queues/x and /v1/queues/x/ reach the same route (ScopeGuard relies on it).
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: 8192 },
    // No Nest middleware is used: the broker's request steps are Fastify hooks (below).
    skipMiddie: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(createAppModule(module), adapter, {
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
  const fastify = app.getHttpAdapter().getInstance();
  fastify.decorateRequest('principal', null);
  fastify.decorateRequest('audited', null);
  fastify.addHook('onSend', auditBeforeAnswer(app.get(AuditService)));
  // On every response, refused ones (401, 415, 429) included.
  if (requestLogger) fastify.addHook('onResponse', requestLog(requestLogger));
  // Runs before the hooks below (the adapter's own hook), so a preflight, which carries no key, is answered by CORS alone.
  if (corsOrigins.length > 0)
    app.enableCors({ origin: corsOrigins, allowedHeaders: ['authorization', 'content-type'] });
  // Before anything reads a body or serves a page: no key, no work.
  fastify.addHook('onRequest', authenticate(app.get(KeysService), module.auth));
  fastify.addHook('onRequest', dashboardLogin(app.get(KeysService)));
  fastify.addHook('onRequest', sameOriginForms);
  fastify.addHook('onRequest', refuseUnreadableBodies(limit));
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', readBody(limit));
  // Shutdown closes the idle keep-alive connections once, as it begins; a request still
  // running then (a long-poll or redrive answering the shutdown) would leave its connection
  // open and idle for the keep-alive time, holding close() that long: its answer closes it.
  const shutdown = app.get(ShutdownSignal).signal;
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (shutdown.aborted) reply.header('connection', 'close');
    done(null, payload);
  });
  setupOpenApi(app);
  return app;
}
