/**
 * The gauges' statements. Each reads whole tables (a count per queue is a scan of its
 * messages), so MailroomMetrics runs them at most once per `depthIntervalMs` however
 * often it is scraped; bench/RESULTS.md has the cost at 1,000,000 messages.
 */

/** Depth by state and the oldest waiting message's age, per live queue. */
export const QUEUE_DEPTH_SQL = `
  SELECT q.name,
         count(m.seq) FILTER (WHERE m.lease_id IS NULL AND m.visible_at <= now() AND m.attempts < q.max_deliveries) AS available,
         count(m.seq) FILTER (WHERE m.lease_id IS NOT NULL) AS in_flight,
         count(m.seq) FILTER (WHERE m.lease_id IS NULL AND m.visible_at > now() AND m.attempts < q.max_deliveries) AS delayed,
         count(m.seq) FILTER (WHERE m.lease_id IS NULL AND m.attempts >= q.max_deliveries) AS exhausted,
         coalesce(extract(epoch FROM now() - min(m.created_at) FILTER (WHERE m.lease_id IS NULL)), 0) AS oldest_seconds
    FROM mailroom_queue q
    LEFT JOIN mailroom_message m ON m.queue_id = q.id
   WHERE q.state IN ('active', 'paused')
   GROUP BY q.id, q.name`;

/** Dead letters waiting in a DLQ, by the queue they failed in (the mailroom_message_dead_letters index). */
export const DEAD_LETTERED_SQL = `
  SELECT dead_letter ->> 'queue' AS origin, count(*) AS dead_lettered
    FROM mailroom_message WHERE dead_letter IS NOT NULL
   GROUP BY 1`;

export const OUTBOX_BACKLOG_SQL = `SELECT destination, count(*) AS backlog FROM mailroom_outbox GROUP BY destination`;

export const WORKFLOW_INSTANCES_SQL = `
  SELECT workflow, status, count(*) AS instances FROM mailroom_workflow_instance GROUP BY workflow, status`;
