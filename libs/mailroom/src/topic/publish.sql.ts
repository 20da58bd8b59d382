import { MESSAGE_CHANNEL } from '../database/channels';

/**
 * Publish: fan a batch out to every matching live subscription's queue in one statement,
 * so every matching subscription gets each message or none does, and a rolled-back
 * publisher leaves nothing anywhere.
 *
 * - Filters run in SQL, nowhere else: `routing_key ~ routing_regex` (compiled from the AMQP
 *   pattern by routing-key.ts when the subscription was configured) and `headers @>
 *   header_filter`. A keyless publish is AMQP's key "", which `#` matches.
 * - Copies take sequences in (message, subscription) order, so each queue sees a batch in
 *   publish order. Paused subscriptions still get copies (claim holds them back).
 * - Client ids go through each target queue's dedup register, exactly as SEND_SQL does:
 *   publishing an id again within a queue's window adds no second copy there.
 * Returns one row per input message with the number of subscriptions it matched;
 * no rows when the topic does not exist.
 */
export const PUBLISH_SQL = `
WITH t AS (
  SELECT id FROM mailroom_topic WHERE name = $1
),
input AS MATERIALIZED (
  SELECT i.*
    FROM unnest($2::uuid[], $3::jsonb[], $4::jsonb[], $5::text[], $6::text[], $7::int[], $8::bool[], $9::bigint[])
         WITH ORDINALITY AS i(id, body, headers, group_key, routing_key, delay_ms, client_id, ttl_ms, ord)
   WHERE EXISTS (SELECT 1 FROM t)
),
targets AS MATERIALIZED (
  SELECT nextval('mailroom_message_seq') AS seq, x.*
    FROM (
      SELECT i.*, s.id AS subscription_id, q.id AS queue_id, q.dedup_window_ms, q.message_ttl_ms
        FROM input i
        JOIN mailroom_subscription s ON s.topic_id = (SELECT id FROM t) AND s.state <> 'detached'
        JOIN mailroom_queue q ON q.id = s.queue_id AND q.state IN ('active', 'paused')
       WHERE (s.routing_regex IS NULL OR coalesce(i.routing_key, '') ~ s.routing_regex)
         AND i.headers @> s.header_filter
       ORDER BY i.ord, s.id
    ) x
),
remembered AS (
  INSERT INTO mailroom_dedup AS d (queue_id, message_id, seq, expires_at)
  SELECT queue_id, id, seq, now() + dedup_window_ms * interval '1 millisecond' FROM targets WHERE client_id
  ON CONFLICT (queue_id, message_id) DO UPDATE
     SET seq = EXCLUDED.seq, expires_at = EXCLUDED.expires_at
   WHERE d.expires_at <= now()
  RETURNING d.queue_id, d.message_id
),
stored AS (
  INSERT INTO mailroom_message (seq, queue_id, id, body, headers, group_key, routing_key, subscription_id, visible_at, expires_at)
  SELECT g.seq, g.queue_id, g.id, g.body, g.headers, g.group_key, g.routing_key, g.subscription_id,
         now() + g.delay_ms * interval '1 millisecond', now() + coalesce(g.ttl_ms, g.message_ttl_ms) * interval '1 millisecond'
    FROM targets g
   WHERE NOT g.client_id OR (g.queue_id, g.id) IN (SELECT queue_id, message_id FROM remembered)
  RETURNING queue_id, visible_at <= created_at AS ready
),
woken AS (
  SELECT pg_notify('${MESSAGE_CHANNEL}', w.queue_id::text) FROM (SELECT DISTINCT queue_id FROM stored WHERE ready) w
)
SELECT i.id, count(g.seq)::int AS delivered_to
  FROM input i
  LEFT JOIN targets g ON g.ord = i.ord
 CROSS JOIN (SELECT count(*) FROM woken) w
 GROUP BY i.ord, i.id
 ORDER BY i.ord`;
