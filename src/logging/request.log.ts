import type { LoggerService } from '@nestjs/common';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { pathOf } from '../http/path';

/**
 * One log line per HTTP request once its response is finished (an onResponse hook, so
 * requests refused before any route, 401, 415, 429, are logged too): method, route (the
 * pattern, e.g. /v1/queues/:name/messages, so names and ids do not explode the
 * cardinality), status and duration. Never headers (Authorization, keys) or bodies.
 */
export function requestLog(logger: LoggerService) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    logger.log(
      {
        msg: 'request',
        method: request.method,
        route: (request.is404 ? undefined : request.routeOptions.url) ?? pathOf(request),
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      },
      'HTTP',
    );
    done();
  };
}
