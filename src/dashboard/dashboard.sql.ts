/** The dashboard's reads that the client has no method for; bounded by LIMIT, admin path. */

/** A queue's oldest messages (in flight or waiting), with the last failure each had. */
export const QUEUE_MESSAGES_SQL = `
  SELECT m.id, m.seq, m.body, m.headers, m.delivery_count, m.attempts, m.last_error,
         m.lease_id IS NOT NULL AS in_flight, m.visible_at, m.created_at
    FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
   WHERE q.name = $1 AND q.state IN ('active', 'paused')
   ORDER BY m.seq LIMIT $2`;

/** Live consumer leases and how many messages each holds. */
export const LEASES_SQL = `
  SELECT l.consumer, q.name AS queue, l.state, l.exclusive, l.expires_at, l.created_at,
         (SELECT count(*) FROM mailroom_message m WHERE m.lease_id = l.id) AS held
    FROM mailroom_lease l JOIN mailroom_queue q ON q.id = l.queue_id
   WHERE l.state = 'active'
   ORDER BY q.name, l.consumer, l.created_at
   LIMIT 500`;
