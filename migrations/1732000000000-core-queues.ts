import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Queues, their messages, consumer leases and the producer dedup register.
 * Every table and index says which query it serves; hot-path SQL lives beside its
 * concept in libs/mailroom/src (producer/send.sql.ts, consumer/claim.sql.ts, ...).
 */
export class CoreQueues1732000000000 implements MigrationInterface {
  name = 'CoreQueues1732000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mailroom_queue (
        id                serial PRIMARY KEY,
        name              text NOT NULL,
        state             text NOT NULL,
        snapshot          jsonb NOT NULL,
        version           integer NOT NULL DEFAULT 1,
        lease_ms          integer NOT NULL,
        max_deliveries    integer NOT NULL,
        ordering          text NOT NULL,
        max_message_bytes integer NOT NULL,
        dedup_window_ms   integer NOT NULL,
        retention_ms      bigint,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE mailroom_queue IS
      'Queue actors (queue.machine.ts). state/options are projections of snapshot, read by send and claim without loading the actor.'`);
    await q.query(`CREATE UNIQUE INDEX mailroom_queue_name ON mailroom_queue (name) WHERE state <> 'deleted'`);
    await q.query(`COMMENT ON INDEX mailroom_queue_name IS
      'send/claim resolve a live queue by name; a deleted name may be created again.'`);

    await q.query(`CREATE SEQUENCE mailroom_message_seq AS bigint`);
    await q.query(`COMMENT ON SEQUENCE mailroom_message_seq IS
      'Message sequence: monotonic across all queues, hence per queue (FIFO order).'`);
    await q.query(`
      CREATE TABLE mailroom_message (
        seq            bigint PRIMARY KEY,
        queue_id       integer NOT NULL,
        id             uuid NOT NULL,
        body           jsonb NOT NULL,
        headers        jsonb NOT NULL DEFAULT '{}',
        group_key      text,
        visible_at     timestamptz NOT NULL,
        lease_id       uuid,
        delivery_count integer NOT NULL DEFAULT 0,
        attempts       integer NOT NULL DEFAULT 0,
        last_error     text,
        created_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE mailroom_message IS
      'Accepted messages until acked. delivery_count counts claims (the receipt carries it); attempts counts failed or expired deliveries.'`);
    await q.query(`CREATE INDEX mailroom_message_claim ON mailroom_message (queue_id, seq) WHERE lease_id IS NULL`);
    await q.query(`COMMENT ON INDEX mailroom_message_claim IS
      'claim.sql.ts: oldest unleased messages of a queue, in sequence order, FOR UPDATE SKIP LOCKED.'`);
    await q.query(`CREATE INDEX mailroom_message_lease ON mailroom_message (lease_id) WHERE lease_id IS NOT NULL`);
    await q.query(`COMMENT ON INDEX mailroom_message_lease IS
      'lease.effects.ts: return the messages of an expired or released lease.'`);
    await q.query(
      `CREATE INDEX mailroom_message_group ON mailroom_message (queue_id, group_key, seq) WHERE group_key IS NOT NULL`,
    );
    await q.query(`COMMENT ON INDEX mailroom_message_group IS
      'claim.sql.ts, grouped ordering: is there an earlier message of the same group?'`);

    await q.query(`
      CREATE TABLE mailroom_dedup (
        queue_id   integer NOT NULL,
        message_id uuid NOT NULL,
        seq        bigint NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (queue_id, message_id)
      )`);
    await q.query(`COMMENT ON TABLE mailroom_dedup IS
      'send.sql.ts: client-supplied message ids seen within the queue''s dedup window, with the sequence first assigned.'`);
    await q.query(`CREATE INDEX mailroom_dedup_expiry ON mailroom_dedup (expires_at)`);
    await q.query(`COMMENT ON INDEX mailroom_dedup_expiry IS 'janitor: delete expired dedup entries in batches.'`);

    await q.query(`
      CREATE TABLE mailroom_lease (
        id         uuid PRIMARY KEY,
        queue_id   integer NOT NULL,
        consumer   text NOT NULL,
        exclusive  boolean NOT NULL DEFAULT false,
        state      text NOT NULL,
        snapshot   jsonb NOT NULL,
        version    integer NOT NULL DEFAULT 1,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE mailroom_lease IS
      'Consumer lease actors (lease.machine.ts), one per consumer session. expires_at is the heartbeat, renewed by receive and extend.'`);
    await q.query(`CREATE INDEX mailroom_lease_expiry ON mailroom_lease (expires_at) WHERE state = 'active'`);
    await q.query(`COMMENT ON INDEX mailroom_lease_expiry IS 'lease.reaper.ts: active leases past their expiry.'`);
    await q.query(
      `CREATE UNIQUE INDEX mailroom_lease_exclusive ON mailroom_lease (queue_id) WHERE state = 'active' AND exclusive`,
    );
    await q.query(`COMMENT ON INDEX mailroom_lease_exclusive IS
      'exclusive ordering: at most one active consumer lease per queue; a second consumer waits as standby.'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mailroom_lease`);
    await q.query(`DROP TABLE mailroom_dedup`);
    await q.query(`DROP TABLE mailroom_message`);
    await q.query(`DROP SEQUENCE mailroom_message_seq`);
    await q.query(`DROP TABLE mailroom_queue`);
  }
}
