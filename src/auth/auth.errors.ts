import { MailroomError } from '@mailroom/core';

/** No key, or one the broker does not know (or revoked): 401. Never echoes the key. */
export class UnauthorizedError extends MailroomError {
  readonly code = 'unauthorized';
  constructor(message = 'Send an API key: "Authorization: Bearer <key>" (see README, Access).') {
    super(message);
  }
}

/** A valid key whose scopes do not name this action on this resource: 403. */
export class ForbiddenError extends MailroomError {
  readonly code = 'forbidden';
  constructor(action: string, resource: string) {
    super(`This key may not ${action} "${resource}": it needs a scope such as ${action}:${resource}.`);
  }
}

/** The key spent its request budget (MAILROOM_RATE_LIMIT): 429 with Retry-After. */
export class RateLimitedError extends MailroomError {
  readonly code = 'rate_limited';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests for this key; retry after ${retryAfterSeconds} s (MAILROOM_RATE_LIMIT).`);
  }
}

/** A request body (or content-type) that is not application/json: 415. */
export class UnsupportedMediaTypeError extends MailroomError {
  readonly code = 'unsupported_media_type';
  constructor(contentType: string | undefined, message?: string) {
    super(message ?? `Request bodies must be application/json, not ${contentType ? `"${contentType}"` : 'untyped'}.`);
  }
}

/** A receipt this broker did not sign, or that was altered: 409, nothing settled. */
export class ReceiptInvalidError extends MailroomError {
  readonly code = 'receipt_invalid';
  constructor(readonly receipts: string[]) {
    super(`${receipts.length} receipt(s) were not issued by this broker (forged or altered); nothing was settled.`);
  }
}
