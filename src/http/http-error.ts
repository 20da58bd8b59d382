import { HttpException, HttpStatus } from '@nestjs/common';
import { InvalidRequestError, LeaseLostError, MailroomError } from '@mailroom/core';

/** The `error` member of every error response. */
export interface ErrorBody {
  code: string;
  message: string;
  /** The request part at fault (invalid_request). */
  field?: string;
  /** The receipts that no longer hold a lease (lease_lost). */
  receipts?: string[];
}

export interface HttpError {
  status: number;
  body: ErrorBody;
}

/**
 * The HTTP status of each library error code. A code missing here is a bug in the broker
 * (the library grew an error the API does not know yet): it answers 500 and is logged.
 */
const STATUS_OF_CODE: Record<string, number> = {
  invalid_request: HttpStatus.BAD_REQUEST,
  queue_not_found: HttpStatus.NOT_FOUND,
  topic_not_found: HttpStatus.NOT_FOUND,
  subscription_not_found: HttpStatus.NOT_FOUND,
  // The broker's own (src/dead-letters): the library answers a missing dead letter with null.
  dead_letter_not_found: HttpStatus.NOT_FOUND,
  workflow_not_found: HttpStatus.NOT_FOUND,
  workflow_instance_not_found: HttpStatus.NOT_FOUND,
  lease_lost: HttpStatus.CONFLICT,
  invalid_transition: HttpStatus.CONFLICT,
  producer_fenced: HttpStatus.CONFLICT,
  sequence_gap: HttpStatus.CONFLICT,
  queue_deleted: HttpStatus.GONE,
  message_too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  // The broker's own access control (src/auth).
  unauthorized: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  key_not_found: HttpStatus.NOT_FOUND,
  receipt_invalid: HttpStatus.CONFLICT,
  unsupported_media_type: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
};

/** Every code an error response can carry: the library's, and the broker's own. */
export const ERROR_CODES = [...Object.keys(STATUS_OF_CODE), 'not_found', 'internal'];

const INTERNAL: HttpError = {
  status: HttpStatus.INTERNAL_SERVER_ERROR,
  body: { code: 'internal', message: 'Internal error; it has been logged.' },
};

const DATABASE_UNAVAILABLE: HttpError = {
  status: HttpStatus.SERVICE_UNAVAILABLE,
  body: {
    code: 'unavailable',
    message: 'The database is unreachable; retry later (resend with the same id to avoid duplicates).',
  },
};

/** Maps anything thrown while serving a request to its response; 5xx are the caller's to log. */
export function toHttpError(exception: unknown): HttpError {
  if (exception instanceof MailroomError) return fromMailroom(exception);
  if (exception instanceof HttpException) return fromHttp(exception);
  if (isConnectionFailure(exception)) return DATABASE_UNAVAILABLE;
  return INTERNAL;
}

/**
 * The database cannot serve the request now, and a retry may succeed: a 503, not a bug.
 * By SQLSTATE: class 08 "connection exception", 53 "insufficient resources", 57P0x
 * "server shutting down", 57014 a statement cancelled by statement_timeout, 55P03 a lock
 * not granted within lock_timeout, 40001/40P01 serialization failure and deadlock. By
 * network error code: the server is unreachable.
 */
const UNAVAILABLE_CODE =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE|08...|53...|57P0.|57014|55P03|40001|40P01)$/;

/**
 * `pg` and `pg-pool` raise these as plain Errors without a code: a connection that died
 * mid-query, one that timed out connecting, no pooled connection free within
 * connectionTimeoutMillis, and no answer within query_timeout. Their messages are all
 * there is to go by.
 */
const UNAVAILABLE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|Query read timeout)/;

function isConnectionFailure(error: unknown): boolean {
  const { code, driverError, message } = (error ?? {}) as {
    code?: unknown;
    driverError?: { code?: unknown };
    message?: unknown;
  };
  const sqlState = String(driverError?.code ?? code ?? '');
  return UNAVAILABLE_CODE.test(sqlState) || (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message));
}

function fromMailroom(error: MailroomError): HttpError {
  const status = STATUS_OF_CODE[error.code];
  if (status === undefined) return INTERNAL;
  const body: ErrorBody = { code: error.code, message: error.message };
  if (error instanceof InvalidRequestError) body.field = error.field;
  if (error instanceof LeaseLostError) body.receipts = error.receipts;
  return { status, body };
}

/** Errors raised before a controller runs: routing, body parsing, health checks. */
function fromHttp(exception: HttpException): HttpError {
  const status = exception.getStatus();
  const cause = exception.cause as { type?: string; limit?: number } | undefined;
  if (status === HttpStatus.NOT_FOUND) {
    return { status, body: { code: 'not_found', message: `${exception.message}: no such route.` } };
  }
  if (status === HttpStatus.PAYLOAD_TOO_LARGE) {
    const limit = cause?.limit === undefined ? '' : ` of ${cause.limit} bytes`;
    const message = `Request body exceeds the limit${limit} (MAILROOM_MAX_REQUEST_BYTES); send smaller batches.`;
    return { status, body: { code: 'message_too_large', message } };
  }
  if (status === HttpStatus.SERVICE_UNAVAILABLE) {
    // Terminus's body names the failing checks under `error`.
    const failing = Object.keys((exception.getResponse() as { error?: object }).error ?? {});
    const message = `Unhealthy: ${failing.join(', ') || 'a dependency is down'}; see the broker log.`;
    return { status, body: { code: 'unavailable', message } };
  }
  if (status >= 400 && status < 500) {
    // The body reader's errors (http/json-body.ts): malformed JSON, a body cut short (400).
    const message = cause?.type === 'entity.parse.failed' ? `Malformed JSON: ${exception.message}` : exception.message;
    const field = cause?.type === undefined ? undefined : 'body';
    return { status, body: { code: 'invalid_request', message, field } };
  }
  return INTERNAL;
}
