/**
 * The one way a message becomes a dead letter: a pair of CTEs that, inside the statement
 * that failed it, deletes it from its queue and inserts it into the queue's DLQ — atomic,
 * so a dead letter is never lost between the two nor left in both.
 *
 * `doomed` names a CTE with columns (seq, reason, error, stack, consumer). Messages of
 * queues without a DLQ are left alone (the caller marks them exhausted or drops them).
 * Defines `dead` (the removed rows) and `buried` (the DLQ copies, returning queue_id).
 * The dead letter keeps id, body, headers and group key; `dead_letter` records why.
 */
export const bury = (doomed: string) => `
dead AS (
  DELETE FROM mailroom_message m
   USING ${doomed} d, mailroom_queue q
   WHERE m.seq = d.seq AND q.id = m.queue_id AND q.dead_letter_queue_id IS NOT NULL
  RETURNING m.*, d.reason, d.error, d.stack, d.consumer, q.name AS queue_name, q.dead_letter_queue_id
),
buried AS (
  INSERT INTO mailroom_message (seq, queue_id, id, body, headers, group_key, routing_key, visible_at, dead_letter)
  SELECT nextval('mailroom_message_seq'), x.dead_letter_queue_id, x.id, x.body, x.headers, x.group_key, x.routing_key, now(),
         jsonb_build_object(
           'reason', x.reason,
           'queue', x.queue_name,
           'sequence', x.seq,
           'deliveryCount', x.delivery_count,
           'error', coalesce(x.error, x.last_error),
           'stack', coalesce(x.stack, x.last_error_stack),
           'consumer', coalesce(x.consumer, x.last_consumer),
           'firstFailedAt', coalesce(x.first_failed_at, now()),
           'lastFailedAt', now(),
           'deadLetteredAt', now())
    FROM (SELECT * FROM dead ORDER BY seq) x
  RETURNING queue_id
)`;

/**
 * For the metrics: `[{ queue, reason?, n }]` counting the rows of `rows` (which have a
 * queue_id) per queue name, and per `reason` when given.
 */
export const perQueue = (rows: string, reason?: string) => `
  (SELECT coalesce(json_agg(c), '[]') FROM (
     SELECT q.name AS queue, ${reason ? `r.${reason} AS reason, ` : ''}count(*)::int AS n
       FROM (SELECT * FROM ${rows}) r JOIN mailroom_queue q ON q.id = r.queue_id
      GROUP BY q.name${reason ? `, r.${reason}` : ''}) c)`;
