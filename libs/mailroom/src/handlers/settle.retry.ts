import { DatabaseUnavailableError, MailroomError } from '../errors/mailroom.errors';
import { refusedForItsData } from '../database/transaction';

/** Tries of one ack or nack: with the backoff below, about 9 s in all. */
export const SETTLE_ATTEMPTS = 8;

/**
 * Runs a push consumer's ack or nack, and again (with backoff, ~9 s in all) while it fails
 * for want of the database: a lost connection, a terminated backend. Without it such a
 * message stays under the consumer session's lease, which that session's next claims keep
 * renewing, so it would not come back while the consumer lives (seen in
 * test/faults/many-brokers.spec.ts after a connection storm). A settle that committed but
 * whose answer was lost fails again as LeaseLostError (its receipt is spent), and stops.
 * One that fails for good (an outage longer than the retries) is the caller's to report,
 * so that the session stops renewing the lease that holds its message (PushConsumer).
 */
export async function settleWithRetries(settle: () => Promise<unknown>, attempts = SETTLE_ATTEMPTS): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await settle();
      return;
    } catch (error) {
      const transient =
        (error instanceof DatabaseUnavailableError || !(error instanceof MailroomError)) && !refusedForItsData(error);
      if (!transient || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2_000)));
    }
  }
}
