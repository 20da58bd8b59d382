import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbox rows keep the trace context they were written in (W3C traceparent/tracestate, or
 * NULL without one), so the relay's delivery continues the writer's trace.
 */
export class OutboxTraceContext1732000000011 implements MigrationInterface {
  name = 'OutboxTraceContext1732000000011';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mailroom_outbox ADD COLUMN headers jsonb`);
    await q.query(`ALTER TABLE mailroom_outbox_dead_letter ADD COLUMN headers jsonb`);
    await q.query(`COMMENT ON COLUMN mailroom_outbox.headers IS
      'outbox.relay.ts: the trace context the row was written in; its delivery continues that trace.'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mailroom_outbox_dead_letter DROP COLUMN headers`);
    await q.query(`ALTER TABLE mailroom_outbox DROP COLUMN headers`);
  }
}
