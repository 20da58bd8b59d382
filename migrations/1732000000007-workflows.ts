import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Workflows (libs/mailroom/src/workflow): the definitions apps registered, one actor row
 * per (workflow, correlation key), its transition history, and what each instance waits
 * for (timers and activities) so that a stale one is recognised and ignored.
 */
export class Workflows1732000000007 implements MigrationInterface {
  name = 'Workflows1732000000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mailroom_workflow (
        name       text PRIMARY KEY,
        versions   jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE mailroom_workflow IS
      'Workflow definitions an app registered at start (version → state tree): the broker lists and draws them without the app''s code.'`);

    await q.query(`
      CREATE TABLE mailroom_workflow_instance (
        id              bigserial PRIMARY KEY,
        workflow        text NOT NULL,
        key             text NOT NULL,
        machine_version text NOT NULL,
        status          text NOT NULL,
        state           text NOT NULL,
        state_value     jsonb NOT NULL,
        tags            text[] NOT NULL DEFAULT '{}',
        snapshot        jsonb NOT NULL,
        version         integer NOT NULL DEFAULT 1,
        failure         text,
        parent          jsonb,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE mailroom_workflow_instance IS
      'Workflow actors (workflow.engine.ts): snapshot is XState''s persisted form; status, state_value, tags are its projections for listing; parent names the instance a child workflow answers.'`);
    await q.query(`CREATE UNIQUE INDEX mailroom_workflow_instance_key ON mailroom_workflow_instance (workflow, key)`);
    await q.query(`COMMENT ON INDEX mailroom_workflow_instance_key IS
      'One instance per (workflow, key): concurrent starts meet here (ON CONFLICT DO NOTHING); events lock the row by it.'`);
    await q.query(`CREATE INDEX mailroom_workflow_instance_list ON mailroom_workflow_instance (workflow, status, id)`);
    await q.query(`COMMENT ON INDEX mailroom_workflow_instance_list IS
      'workflow.sql.ts LIST: instances of a workflow by status, in id order from a cursor.'`);

    await q.query(`
      CREATE TABLE mailroom_workflow_history (
        id          bigserial PRIMARY KEY,
        instance_id bigint NOT NULL REFERENCES mailroom_workflow_instance (id) ON DELETE CASCADE,
        outcome     text NOT NULL,
        event       jsonb NOT NULL,
        state_value jsonb NOT NULL,
        message_id  text,
        detail      text,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE mailroom_workflow_history IS
      'One row per event an instance received: applied, ignored (not accepted), stale (old timer or activity), failed.'`);
    await q.query(`CREATE INDEX mailroom_workflow_history_instance ON mailroom_workflow_history (instance_id, id)`);
    await q.query(`COMMENT ON INDEX mailroom_workflow_history_instance IS
      'workflow.sql.ts HISTORY: the last N transitions of one instance.'`);

    await q.query(`
      CREATE TABLE mailroom_workflow_wait (
        instance_id bigint NOT NULL REFERENCES mailroom_workflow_instance (id) ON DELETE CASCADE,
        wait_id     text NOT NULL,
        kind        text NOT NULL,
        message_id  uuid NOT NULL,
        due_at      timestamptz,
        PRIMARY KEY (instance_id, wait_id)
      )`);
    await q.query(`COMMENT ON TABLE mailroom_workflow_wait IS
      'The timer or activity an instance awaits per id, and the message that answers it: a message that is not the current one is stale.'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mailroom_workflow_wait`);
    await q.query(`DROP TABLE mailroom_workflow_history`);
    await q.query(`DROP TABLE mailroom_workflow_instance`);
    await q.query(`DROP TABLE mailroom_workflow`);
  }
}
