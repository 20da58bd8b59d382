import { MigrationInterface, QueryRunner } from 'typeorm';

/** Idempotent producers, the consumer inbox, and the outbox to external destinations. */
export class ExactlyOnce1732000000003 implements MigrationInterface {
  name = 'ExactlyOnce1732000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mailroom_producer (
        id            text PRIMARY KEY,
        epoch         integer NOT NULL,
        last_sequence bigint NOT NULL DEFAULT -1,
        reject_gaps   boolean NOT NULL DEFAULT false,
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE mailroom_producer IS
      'Idempotent producers: send.sql.ts updates the row only at the current epoch (fencing zombies) and tracks the highest sequence.'`);

    await q.query(`
      CREATE TABLE mailroom_inbox (
        consumer     text NOT NULL,
        message_id   text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, message_id)
      )`);
    await q.query(`COMMENT ON TABLE mailroom_inbox IS
      'Exactly-once handlers: a row per (consumer, message) processed, written in the handler''s transaction.'`);
    await q.query(`CREATE INDEX mailroom_inbox_age ON mailroom_inbox (processed_at)`);
    await q.query(
      `COMMENT ON INDEX mailroom_inbox_age IS 'inbox cleanup: rows older than the retention window, in batches.'`,
    );

    await q.query(`
      CREATE TABLE mailroom_outbox (
        id              bigserial PRIMARY KEY,
        destination     text NOT NULL,
        key             text NOT NULL,
        bucket          smallint NOT NULL,
        message_id      uuid NOT NULL,
        pattern         text NOT NULL,
        data            jsonb NOT NULL,
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error      text,
        created_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE mailroom_outbox IS
      'Messages for external destinations, written in the caller''s transaction, relayed in order per (destination, key).'`);
    await q.query(`CREATE INDEX mailroom_outbox_relay ON mailroom_outbox (destination, bucket, id)`);
    await q.query(
      `COMMENT ON INDEX mailroom_outbox_relay IS 'outbox.relay.ts: the oldest rows of one destination bucket, in order.'`,
    );

    await q.query(`
      CREATE TABLE mailroom_outbox_dead_letter (
        id           bigint PRIMARY KEY,
        destination  text NOT NULL,
        key          text NOT NULL,
        message_id   uuid NOT NULL,
        pattern      text NOT NULL,
        data         jsonb NOT NULL,
        attempts     integer NOT NULL,
        last_error   text,
        created_at   timestamptz NOT NULL,
        failed_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `COMMENT ON TABLE mailroom_outbox_dead_letter IS 'Outbox rows that kept failing; kept for inspection and replay.'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mailroom_outbox_dead_letter`);
    await q.query(`DROP TABLE mailroom_outbox`);
    await q.query(`DROP TABLE mailroom_inbox`);
    await q.query(`DROP TABLE mailroom_producer`);
  }
}
