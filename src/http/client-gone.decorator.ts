import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/**
 * An AbortSignal that aborts when the HTTP client goes away before its response is sent,
 * so a long-poll stops waiting (and claiming) for a reader who is no longer there.
 */
export const ClientGone = createParamDecorator((_data: unknown, context: ExecutionContext): AbortSignal => {
  const response = context.switchToHttp().getResponse<FastifyReply>().raw;
  const controller = new AbortController();
  // 'close' also follows a normal response; only a close before the end means the client left.
  response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
});
