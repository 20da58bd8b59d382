import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Comments that named a file or a query that does not exist (any more) name the real one:
 * dead letters are made by dead-letter/bury.sql.ts, the reaper's statement is
 * EXPIRE_LEASES, the workflow statements end in _SQL, and a lease's deadline moves in
 * lease/renew.sql.ts. Paths are under libs/mailroom/src. Comments only: nothing else changes.
 */
export class CommentsNameRealFiles1732000000009 implements MigrationInterface {
  name = 'CommentsNameRealFiles1732000000009';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`COMMENT ON COLUMN mailroom_queue.dead_letter_queue_id IS
      'dead-letter/bury.sql.ts moves exhausted, rejected and (opt-in) expired messages here in the statement that fails them.'`);
    await q.query(`COMMENT ON TABLE mailroom_lease IS
      'Lease actors (lease/lease.machine.ts): one per pull receive that claimed messages, one per push consumer session, one per exclusive queue holder. expires_at moves only by its owner (lease/renew.sql.ts: extend, its own claims); finished leases are deleted.'`);
    await q.query(`COMMENT ON INDEX mailroom_lease_expiry IS
      'lease/lease.sql.ts EXPIRE_LEASES: the reaper''s set-based pass over active leases past their deadline.'`);
    await q.query(`COMMENT ON INDEX mailroom_workflow_instance_list IS
      'workflow/workflow.sql.ts LIST_INSTANCES_SQL: instances of a workflow by status, in id order from a cursor.'`);
    await q.query(`COMMENT ON INDEX mailroom_workflow_history_instance IS
      'workflow/workflow.sql.ts HISTORY_SQL: the last N transitions of one instance.'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`COMMENT ON COLUMN mailroom_queue.dead_letter_queue_id IS
      'dead-letter.sql.ts moves exhausted, rejected and (opt-in) expired messages here in the statement that fails them.'`);
    await q.query(`COMMENT ON TABLE mailroom_lease IS
      'Lease actors (lease.machine.ts): one per pull receive that claimed messages, one per push consumer session, one per exclusive queue holder. expires_at moves only by its owner (extend, its own claims); finished leases are deleted.'`);
    await q.query(`COMMENT ON INDEX mailroom_lease_expiry IS
      'lease.sql.ts EXPIRE_LEASES_SQL: the reaper''s set-based pass over active leases past their deadline.'`);
    await q.query(`COMMENT ON INDEX mailroom_workflow_instance_list IS
      'workflow.sql.ts LIST: instances of a workflow by status, in id order from a cursor.'`);
    await q.query(`COMMENT ON INDEX mailroom_workflow_history_instance IS
      'workflow.sql.ts HISTORY: the last N transitions of one instance.'`);
  }
}
