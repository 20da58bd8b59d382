/** Why a message was dead-lettered (kept with it; here so errors can name one without importing dead-letter/). */
export type DeadLetterReason = 'max_deliveries' | 'rejected' | 'lease_expired' | 'expired' | 'workflow_not_found';
/**
 * Every error Mailroom raises on purpose. `code` is stable and is what the REST API
 * returns; the HTTP status for each code is decided in one place (src/http).
 */
export abstract class MailroomError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that can never succeed as given; `field` names the offending part. */
export class InvalidRequestError extends MailroomError {
  readonly code = 'invalid_request';
  constructor(
    readonly field: string,
    /** What is wrong with it, without the field name. */
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export class QueueNotFoundError extends MailroomError {
  readonly code = 'queue_not_found';
  constructor(readonly queue: string) {
    super(`Queue "${queue}" does not exist. Create it first (PUT /v1/queues/${queue} or client.createQueue).`);
  }
}

export class QueueDeletedError extends MailroomError {
  readonly code = 'queue_deleted';
  constructor(readonly queue: string) {
    super(`Queue "${queue}" is being deleted; it accepts and delivers nothing.`);
  }
}

/** A receipt that no longer names a live delivery: its lease expired, or it was already settled. */
export class LeaseLostError extends MailroomError {
  readonly code = 'lease_lost';
  constructor(readonly receipts: string[]) {
    super(
      `${receipts.length} receipt(s) no longer hold a lease (expired, redelivered or already settled); nothing was changed. ` +
        'Receive the message again, and extend the lease if handling takes longer than leaseMs.',
    );
  }
}

export class MessageTooLargeError extends MailroomError {
  readonly code = 'message_too_large';
  constructor(
    readonly queue: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`Message of ${bytes} bytes exceeds maxMessageBytes ${limit} of queue "${queue}".`);
  }
}

/** An actor was sent an event its current state does not accept (e.g. changing a queue's ordering). */
export class InvalidTransitionError extends MailroomError {
  readonly code = 'invalid_transition';
  constructor(message: string) {
    super(message);
  }
}

export class TopicNotFoundError extends MailroomError {
  readonly code = 'topic_not_found';
  constructor(readonly topic: string) {
    super(`Topic "${topic}" does not exist. Create it first (PUT /v1/topics/${topic} or client.createTopic).`);
  }
}

export class SubscriptionNotFoundError extends MailroomError {
  readonly code = 'subscription_not_found';
  constructor(
    readonly topic: string,
    readonly subscription: string,
  ) {
    super(`Topic "${topic}" has no subscription "${subscription}".`);
  }
}

/**
 * Thrown by a handler to say "retrying cannot help": the message is dead-lettered at
 * once (reason `rejected`, or the library's own more precise reason) instead of being retried.
 */
export class NonRetryableError extends MailroomError {
  readonly code = 'non_retryable';
  readonly deadLetterReason: DeadLetterReason;
  constructor(message: string, options?: { cause?: unknown; deadLetterReason?: DeadLetterReason }) {
    super(message, options);
    this.deadLetterReason = options?.deadLetterReason ?? 'rejected';
  }
}

/** A newer instance of this producer was created (its epoch is higher): this one is a zombie. */
export class ProducerFencedError extends MailroomError {
  readonly code = 'producer_fenced';
  constructor(
    readonly producer: string,
    readonly epoch: number,
    readonly currentEpoch: number | null,
  ) {
    super(
      currentEpoch === null
        ? `Producer "${producer}" was never initialised; call client.producer() (POST /v1/producers/${producer}/init) first.`
        : `Producer "${producer}" epoch ${epoch} is fenced by epoch ${currentEpoch}: another instance took over; stop sending from this one.`,
    );
  }
}

/** The producer rejects gaps and this send skipped sequences. */
export class SequenceGapError extends MailroomError {
  readonly code = 'sequence_gap';
  constructor(
    readonly producer: string,
    readonly expected: number,
    readonly got: number,
  ) {
    super(`Producer "${producer}" expected sequence ${expected} next, got ${got}; resend the missing ones first.`);
  }
}

/** The database connection a transaction ran on was lost: the transaction is rolled back; retry it. */
export class DatabaseUnavailableError extends MailroomError {
  readonly code = 'unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
