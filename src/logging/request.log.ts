import type { LoggerService } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';

type Request = IncomingMessage & { originalUrl?: string; baseUrl?: string; route?: { path: string } };

/**
 * One log line per HTTP request once its response is finished: method, route (the
 * pattern, e.g. /v1/queues/:name/messages, so names and ids do not explode the
 * cardinality), status and duration. Never headers (Authorization, keys) or bodies.
 */
export function requestLog(logger: LoggerService) {
  return (request: Request, response: ServerResponse, next: () => void) => {
    const started = performance.now();
    response.once('finish', () => {
      const route = request.route ? `${request.baseUrl ?? ''}${request.route.path}` : undefined;
      logger.log(
        {
          msg: 'request',
          method: request.method,
          route: route ?? (request.originalUrl ?? request.url ?? '').split('?')[0],
          status: response.statusCode,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
        },
        'HTTP',
      );
    });
    next();
  };
}
