import { MailroomError } from '../errors/mailroom.errors';

/** A request sent by MailroomClientProxy got no (final) reply within its `timeoutMs`. */
export class RequestTimeoutError extends MailroomError {
  readonly code = 'request_timeout';
  constructor(
    readonly queue: string,
    readonly timeoutMs: number,
  ) {
    super(
      `No reply from "${queue}" within ${timeoutMs} ms. The request stays in the queue until it is handled or ` +
        'its deadline passes; raise `timeoutMs` if the handler needs longer.',
    );
  }
}
