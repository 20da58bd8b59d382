import { MigrationInterface, QueryRunner } from 'typeorm';

/** Retry policies, dead-letter queues, message time-to-live and failure records. */
export class DeadLetters1732000000002 implements MigrationInterface {
  name = 'DeadLetters1732000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE mailroom_queue
        ADD COLUMN dead_letter_queue_id integer,
        ADD COLUMN dead_letter_expired boolean NOT NULL DEFAULT false,
        ADD COLUMN message_ttl_ms bigint,
        ADD COLUMN retry_strategy text NOT NULL DEFAULT 'exponential',
        ADD COLUMN retry_delay_ms integer NOT NULL DEFAULT 1000,
        ADD COLUMN retry_max_delay_ms integer NOT NULL DEFAULT 300000,
        ADD COLUMN retry_jitter real NOT NULL DEFAULT 0.2,
        ADD COLUMN expired_dropped bigint NOT NULL DEFAULT 0`);
    await q.query(`COMMENT ON COLUMN mailroom_queue.dead_letter_queue_id IS
      'dead-letter.sql.ts moves exhausted, rejected and (opt-in) expired messages here in the statement that fails them.'`);
    await q.query(`COMMENT ON COLUMN mailroom_queue.expired_dropped IS
      'Messages whose time-to-live passed and were dropped (queues without dead_letter_expired). A counter, not a projection.'`);

    await q.query(`
      ALTER TABLE mailroom_message
        ADD COLUMN expires_at timestamptz,
        ADD COLUMN first_failed_at timestamptz,
        ADD COLUMN last_failed_at timestamptz,
        ADD COLUMN last_error_stack text,
        ADD COLUMN last_consumer text,
        ADD COLUMN dead_letter jsonb`);
    await q.query(`COMMENT ON COLUMN mailroom_message.dead_letter IS
      'Set on messages in a dead-letter queue: reason, original queue, delivery count, last error, consumer, failure times.'`);
    await q.query(
      `CREATE INDEX mailroom_message_dead_letters ON mailroom_message ((dead_letter ->> 'queue'), seq) WHERE dead_letter IS NOT NULL`,
    );
    await q.query(`COMMENT ON INDEX mailroom_message_dead_letters IS
      'dead-letter.sql.ts: the dead letters of a queue, wherever they lie, paged by sequence.'`);
    await q.query(`CREATE INDEX mailroom_message_expiry ON mailroom_message (expires_at) WHERE expires_at IS NOT NULL`);
    await q.query(
      `COMMENT ON INDEX mailroom_message_expiry IS 'queue.janitor.ts: messages whose time-to-live has passed.'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX mailroom_message_expiry`);
    await q.query(`DROP INDEX mailroom_message_dead_letters`);
    await q.query(`
      ALTER TABLE mailroom_message
        DROP COLUMN expires_at, DROP COLUMN first_failed_at, DROP COLUMN last_failed_at,
        DROP COLUMN last_error_stack, DROP COLUMN last_consumer, DROP COLUMN dead_letter`);
    await q.query(`
      ALTER TABLE mailroom_queue
        DROP COLUMN dead_letter_queue_id, DROP COLUMN dead_letter_expired, DROP COLUMN message_ttl_ms,
        DROP COLUMN retry_strategy, DROP COLUMN retry_delay_ms, DROP COLUMN retry_max_delay_ms,
        DROP COLUMN retry_jitter, DROP COLUMN expired_dropped`);
  }
}
