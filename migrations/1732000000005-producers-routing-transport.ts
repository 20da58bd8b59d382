import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The rule of routingPattern() in topic/routing-key.ts, frozen here as it was when written
 * (test/topics/routing-keys.spec.ts checks that both agree).
 */
export const RECOMPILE_ROUTING_SQL = `
UPDATE mailroom_subscription s
   SET routing_regex = '^' || coalesce((
         SELECT string_agg(CASE w WHEN '#' THEN '(?:(?:\\.|^)[^.]+)*'
                                  WHEN '*' THEN '(?:\\.|^)[^.]+'
                                  ELSE '(?:\\.|^)' || w END, '' ORDER BY n)
           FROM unnest(string_to_array(regexp_replace(s.routing_key, '#(\\.#)+', '#', 'g'), '.'))
                WITH ORDINALITY AS t(w, n)), '') || '$'
 WHERE s.routing_key IS NOT NULL`;

/**
 * The idempotent producer's acks, so that a retried sequence is recognised whatever the
 * queue's dedup window; routing expressions recompiled so that patterns starting with
 * `#.#` match what a RabbitMQ topic exchange matches; and the register of request patterns
 * that live Nest microservice servers handle.
 */
export class ProducersRoutingTransport1732000000005 implements MigrationInterface {
  name = 'ProducersRoutingTransport1732000000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mailroom_producer_ack (
        producer_id text NOT NULL,
        epoch       integer NOT NULL,
        sequence    bigint NOT NULL,
        message_id  uuid NOT NULL,
        seq         bigint NOT NULL,
        PRIMARY KEY (producer_id, epoch, sequence)
      )`);
    await q.query(`COMMENT ON TABLE mailroom_producer_ack IS
      'send.sql.ts: the answer to each of a producer''s recent sequences, returned to a retry. Each send trims its producer''s rows of older epochs and sequences.'`);

    await q.query(RECOMPILE_ROUTING_SQL);

    await q.query(`
      CREATE TABLE mailroom_transport_handler (
        pattern    text NOT NULL,
        server_id  uuid NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (pattern, server_id)
      )`);
    await q.query(`COMMENT ON TABLE mailroom_transport_handler IS
      'transport.registry.ts: the request queues each running MailroomServer serves, renewed by its heartbeat; a request to a queue with no live row is answered "no matching handler" at once.'`);
  }

  /** The recompiled expressions also serve the older fan-out, which matches them against the bare key. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mailroom_transport_handler`);
    await q.query(`DROP TABLE mailroom_producer_ack`);
  }
}
