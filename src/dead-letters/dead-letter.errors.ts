import { MailroomError } from '@mailroom/core';

/** No dead letter of this id came from this queue (it may have been redriven or purged). */
export class DeadLetterNotFoundError extends MailroomError {
  readonly code = 'dead_letter_not_found';
  constructor(
    readonly queue: string,
    readonly id: string,
  ) {
    super(
      `Queue "${queue}" has no dead letter ${id}; it may have been redriven or purged ` +
        `(list them: GET /v1/queues/${queue}/dead-letters).`,
    );
  }
}
