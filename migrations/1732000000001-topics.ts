import { MigrationInterface, QueryRunner } from 'typeorm';

/** Topics and their subscriptions; messages remember the subscription that copied them. */
export class Topics1732000000001 implements MigrationInterface {
  name = 'Topics1732000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mailroom_topic (
        id         serial PRIMARY KEY,
        name       text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `COMMENT ON TABLE mailroom_topic IS 'Names that messages are published to (publish.sql.ts resolves them by name).'`,
    );

    await q.query(`
      CREATE TABLE mailroom_subscription (
        id            serial PRIMARY KEY,
        topic_id      integer NOT NULL REFERENCES mailroom_topic (id),
        name          text NOT NULL,
        queue_id      integer NOT NULL,
        routing_key   text,
        routing_regex text,
        header_filter jsonb NOT NULL DEFAULT '{}',
        state         text NOT NULL,
        snapshot      jsonb NOT NULL,
        version       integer NOT NULL DEFAULT 1,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE mailroom_subscription IS
      'Subscription actors (subscription.machine.ts). routing_regex and header_filter are the filter publish.sql.ts applies in the fan-out.'`);
    await q.query(
      `CREATE UNIQUE INDEX mailroom_subscription_name ON mailroom_subscription (topic_id, name) WHERE state <> 'detached'`,
    );
    await q.query(
      `COMMENT ON INDEX mailroom_subscription_name IS 'publish.sql.ts: the live subscriptions of a topic; names are unique among them.'`,
    );
    await q.query(
      `CREATE UNIQUE INDEX mailroom_subscription_queue ON mailroom_subscription (topic_id, queue_id) WHERE state <> 'detached'`,
    );
    await q.query(`COMMENT ON INDEX mailroom_subscription_queue IS
      'One live subscription per topic and queue, so a publish never copies one message twice into a queue.'`);
    await q.query(
      `CREATE INDEX mailroom_subscription_paused ON mailroom_subscription (queue_id) WHERE state = 'paused'`,
    );
    await q.query(
      `COMMENT ON INDEX mailroom_subscription_paused IS 'claim.sql.ts: copies of paused subscriptions are held back.'`,
    );

    await q.query(`ALTER TABLE mailroom_message ADD COLUMN routing_key text, ADD COLUMN subscription_id integer`);
    await q.query(
      `COMMENT ON COLUMN mailroom_message.subscription_id IS 'The subscription that copied this message in; null for direct sends.'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mailroom_message DROP COLUMN routing_key, DROP COLUMN subscription_id`);
    await q.query(`DROP TABLE mailroom_subscription`);
    await q.query(`DROP TABLE mailroom_topic`);
  }
}
