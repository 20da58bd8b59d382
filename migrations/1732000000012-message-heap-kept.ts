import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * VACUUM no longer gives the message table's empty tail pages back to the operating system.
 * A queue's heap empties and fills every autovacuum cycle: truncating it (an exclusive lock
 * at the end of each vacuum) only makes the next inserts extend the file again, page by
 * page. Kept, the free pages are reused; the table stays at its high-water size (bench/SOAK.md).
 */
export class MessageHeapKept1732000000012 implements MigrationInterface {
  name = 'MessageHeapKept1732000000012';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mailroom_message SET (vacuum_truncate = false)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mailroom_message RESET (vacuum_truncate)`);
  }
}
