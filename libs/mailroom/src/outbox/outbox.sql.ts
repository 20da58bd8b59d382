import { OUTBOX_CHANNEL } from '../database/channels';
import { retryDelaySql } from '../queue/retry.policy.sql';

/** Outbox statements. Rows are relayed in id order per (destination, key); see outbox.relay.ts. */

/**
 * Written in the caller's transaction; the relay's wake-up is delivered only if it commits.
 * $7 the writer's trace context (or NULL), which the relay's delivery continues.
 */
export const OUTBOX_INSERT_SQL = `
WITH row AS (
  INSERT INTO mailroom_outbox (destination, key, bucket, message_id, pattern, data, headers)
  VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)
  RETURNING id
)
SELECT row.id, pg_notify('${OUTBOX_CHANNEL}', $1) FROM row`;

/**
 * The oldest rows of one bucket, in order, under the bucket's lease (the advisory lock
 * taken by the caller). Rows not yet due are returned too: the relay needs them to know
 * which keys are blocked behind a row waiting for its retry.
 */
export const OUTBOX_BATCH_SQL = `
SELECT id, key, message_id, pattern, data, headers, attempts, next_attempt_at <= now() AS due
  FROM mailroom_outbox
 WHERE destination = $1 AND bucket = $2
 ORDER BY id
 LIMIT $3`;

export const OUTBOX_DELIVERED_SQL = `DELETE FROM mailroom_outbox WHERE id = $1`;

/** A failed attempt ($2 its error): retried after the delay of the relay's retry policy ($3-$6). */
export const OUTBOX_FAILED_SQL = `
UPDATE mailroom_outbox
   SET attempts = attempts + 1,
       next_attempt_at = now() + ${retryDelaySql(
         { strategy: '$3::text', delayMs: '$4::int', maxDelayMs: '$5::int', jitter: '$6::float8' },
         'attempts',
       )} * interval '1 millisecond',
       last_error = $2
 WHERE id = $1`;

/** Out of attempts: moved, in one statement, to the outbox dead-letter table. */
export const OUTBOX_DEAD_LETTER_SQL = `
WITH gone AS (DELETE FROM mailroom_outbox WHERE id = $1 RETURNING *)
INSERT INTO mailroom_outbox_dead_letter (id, destination, key, message_id, pattern, data, headers, attempts, last_error, created_at)
SELECT id, destination, key, message_id, pattern, data, headers, attempts + 1, $2, created_at FROM gone`;
