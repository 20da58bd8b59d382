import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Leases owned by the receive that claimed them, and bounded: finished leases are deleted
 * (lease.machine.ts forget), so the rows kept by earlier versions go, and the comments say
 * what the table and its index now serve.
 */
export class LeaseOwnership1732000000004 implements MigrationInterface {
  name = 'LeaseOwnership1732000000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM mailroom_lease WHERE state <> 'active'`);
    await q.query(`COMMENT ON TABLE mailroom_lease IS
      'Lease actors (lease.machine.ts): one per pull receive that claimed messages, one per push consumer session, one per exclusive queue holder. expires_at moves only by its owner (extend, its own claims); finished leases are deleted.'`);
    await q.query(`COMMENT ON INDEX mailroom_lease_expiry IS
      'lease.sql.ts EXPIRE_LEASES_SQL: the reaper''s set-based pass over active leases past their deadline.'`);
    await q.query(`COMMENT ON INDEX mailroom_message_lease IS
      'lease.sql.ts: return the messages of expired (set-based) or released leases; extend and settle by lease.'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`COMMENT ON TABLE mailroom_lease IS
      'Consumer lease actors (lease.machine.ts), one per consumer session. expires_at is the heartbeat, renewed by receive and extend.'`);
    await q.query(`COMMENT ON INDEX mailroom_lease_expiry IS 'lease.reaper.ts: active leases past their expiry.'`);
    await q.query(`COMMENT ON INDEX mailroom_message_lease IS
      'lease.effects.ts: return the messages of an expired or released lease.'`);
  }
}
