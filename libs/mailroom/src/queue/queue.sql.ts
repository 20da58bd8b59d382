/** Admin-path SQL for queues: counts, purge and the batched deletion of a deleted queue's messages. */

export interface QueueStats {
  available: number;
  inFlight: number;
  delayed: number;
  /** Failed maxDeliveries times in a queue without a DLQ: kept, not delivered. */
  exhausted: number;
  /** Messages whose time-to-live passed and were dropped (not dead-lettered), since creation. */
  expiredDropped: number;
}

/** One pass over the queues' messages; admin path, not the hot path. */
export const QUEUE_STATS_SQL = `
  SELECT q.id AS queue_id, q.expired_dropped,
         count(m.seq) FILTER (WHERE m.lease_id IS NULL AND m.visible_at <= now() AND m.attempts < q.max_deliveries
                                AND (m.expires_at IS NULL OR m.expires_at > now())) AS available,
         count(m.seq) FILTER (WHERE m.lease_id IS NOT NULL) AS in_flight,
         count(m.seq) FILTER (WHERE m.lease_id IS NULL AND m.visible_at > now() AND m.attempts < q.max_deliveries) AS delayed,
         count(m.seq) FILTER (WHERE m.lease_id IS NULL AND m.attempts >= q.max_deliveries) AS exhausted
    FROM mailroom_queue q
    LEFT JOIN mailroom_message m ON m.queue_id = q.id
   WHERE q.id = ANY($1::int[])
   GROUP BY q.id`;

/** Purge removes what is not in flight: held messages are settled by their consumers as usual. */
export const PURGE_SQL = `
  WITH gone AS (DELETE FROM mailroom_message WHERE queue_id = $1 AND lease_id IS NULL RETURNING 1)
  SELECT count(*)::int AS purged FROM gone`;

/**
 * Deletes a deleting queue's messages a batch at a time, so no transaction grows long.
 * FOR UPDATE (not SKIP LOCKED): a row held by a concurrent ack is waited for, not left behind.
 */
export const DELETE_MESSAGES_BATCH_SQL = `
  WITH batch AS (SELECT seq FROM mailroom_message WHERE queue_id = $1 LIMIT $2 FOR UPDATE),
       gone AS (DELETE FROM mailroom_message m USING batch WHERE m.seq = batch.seq RETURNING 1)
  SELECT count(*)::int AS deleted FROM gone`;

export const DELETE_DEDUP_SQL = `DELETE FROM mailroom_dedup WHERE queue_id = $1`;

export function toStats(row: Record<string, string> | undefined): QueueStats {
  return {
    available: Number(row?.available ?? 0),
    inFlight: Number(row?.in_flight ?? 0),
    delayed: Number(row?.delayed ?? 0),
    exhausted: Number(row?.exhausted ?? 0),
    expiredDropped: Number(row?.expired_dropped ?? 0),
  };
}

/** Live queues (other than itself) that use queue $1 as their dead-letter queue. */
export const DEAD_LETTER_DEPENDENTS_SQL = `
SELECT name FROM mailroom_queue WHERE dead_letter_queue_id = $1 AND id <> $1 AND state <> 'deleted' ORDER BY name`;

/** The largest message any live queue accepts ($1 when there is no queue). */
export const LARGEST_MESSAGE_BYTES_SQL = `
SELECT coalesce(max(max_message_bytes), $1)::int AS bytes FROM mailroom_queue WHERE state IN ('active', 'paused')`;
