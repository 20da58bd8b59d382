import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Delayed messages leave the claim index. A message sent with a delay (a workflow's timer,
 * a scheduled send) or put back with a retry delay sits among the unleased messages in
 * sequence order, and every claim on its queue walked past it until it fell due: with
 * 100,000 waiting instances' timers on a workflow's queue, each claim there read 100,000
 * rows (~15 ms). Now the claim index holds only the messages deliverable from the start
 * (`visible_at <= created_at`) and a second index the others by due time, so a claim
 * reads what it takes plus what is due, however many wait (delivery/claim.sql.ts).
 */
export class DelayedMessagesApart1732000000013 implements MigrationInterface {
  name = 'DelayedMessagesApart1732000000013';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX mailroom_message_claim`);
    await q.query(
      `CREATE INDEX mailroom_message_claim ON mailroom_message (queue_id, seq) WHERE lease_id IS NULL AND visible_at <= created_at`,
    );
    await q.query(`COMMENT ON INDEX mailroom_message_claim IS
      'delivery/claim.sql.ts: unleased messages deliverable since they were sent, in sequence order, FOR UPDATE SKIP LOCKED.'`);
    await q.query(
      `CREATE INDEX mailroom_message_delayed ON mailroom_message (queue_id, visible_at) WHERE lease_id IS NULL AND visible_at > created_at`,
    );
    await q.query(`COMMENT ON INDEX mailroom_message_delayed IS
      'delivery/claim.sql.ts: unleased messages with a delay (sent delayed, retried later, hidden), by the time they fall due.'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX mailroom_message_delayed`);
    await q.query(`DROP INDEX mailroom_message_claim`);
    await q.query(`CREATE INDEX mailroom_message_claim ON mailroom_message (queue_id, seq) WHERE lease_id IS NULL`);
    await q.query(`COMMENT ON INDEX mailroom_message_claim IS
      'claim.sql.ts: oldest unleased messages of a queue, in sequence order, FOR UPDATE SKIP LOCKED.'`);
  }
}
