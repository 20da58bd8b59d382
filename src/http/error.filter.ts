import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { toHttpError } from './http-error';

/**
 * The one place errors become responses: `{ error: { code, message, field? } }`, with the
 * status decided by the error's code (see http-error.ts). Catches everything, so even a
 * malformed body or an unknown route answers in that shape.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const { status, body } = toHttpError(exception);
    // A 500 is a bug: its stack is wanted. A 503 is an outage, already visible in the logs around it.
    const stack = exception instanceof Error ? exception.stack : undefined;
    if (status === 500) this.logger.error(describe(exception), stack);
    else if (status > 500) this.logger.warn(describe(exception));
    const { httpAdapter } = this.adapterHost;
    const response = host.switchToHttp().getResponse();
    // The client may already have part of a response (or be gone): nothing sensible to add.
    if (httpAdapter.isHeadersSent(response)) return;
    httpAdapter.reply(response, { error: body }, status);
  }
}

function describe(exception: unknown): string {
  return exception instanceof Error
    ? `${exception.name}: ${exception.message}`
    : `Non-error thrown: ${String(exception)}`;
}
