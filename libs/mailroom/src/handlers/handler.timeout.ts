import type { EntityManager } from 'typeorm';
import { sendCancelRequest, type CancelKey } from '../database/cancel';

/** A handler call that ran past its handler's `timeoutMs`: its delivery counts as failed. */
export class HandlerTimedOutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`handler timed out after ${timeoutMs} ms`);
  }
}

/**
 * Waits for a handler call at most `timeoutMs`, as the outbox relay waits for a
 * destination: a call that hangs must not keep its message (its lease would be extended
 * for ever) nor its concurrency slot. JavaScript cannot stop the call; it runs on, and
 * whatever it does late is ignored (its receipt is stale once its delivery is nacked).
 * `beforeGivingUp` runs before the rejection, while the caller still holds its resources.
 */
export function withHandlerTimeout(
  call: () => unknown,
  timeoutMs: number,
  beforeGivingUp: () => Promise<void> = async () => undefined,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      void beforeGivingUp()
        .catch(() => undefined)
        .then(() => reject(new HandlerTimedOutError(timeoutMs)));
    }, timeoutMs);
  });
  // Once the time is up the outcome is the timeout, even if the call ends while we give up
  // (beforeGivingUp cancelling its statement makes it fail at once).
  const call$ = Promise.resolve()
    .then(call)
    .then(
      (value) => (timedOut ? timeout : value),
      (error) => (timedOut ? timeout : Promise.reject(error)),
    );
  return Promise.race([call$, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Exactly-once: before the transaction of a timed-out handler rolls back, cancel the
 * statement it may be stuck in (a lock wait, a slow query). Otherwise the ROLLBACK would
 * queue behind that statement on the connection and the transaction would stay open as
 * long as the handler hangs. Sent while the transaction still holds its connection, so
 * it cannot hit another transaction's statement; sent as the protocol's cancel request on
 * a socket of its own, not through the pool, which hung handlers may hold entirely.
 */
export async function cancelRunningStatement(manager: EntityManager): Promise<void> {
  const connection = (manager.queryRunner as unknown as { databaseConnection?: CancelKey } | undefined)
    ?.databaseConnection;
  if (connection) await sendCancelRequest(connection);
}
