/**
 * A new instance, unless one exists for (workflow, key). Concurrent starts of one key
 * meet on the unique index: the later ones wait for the first to commit, then insert
 * nothing, so a key has one instance however many starts race.
 */
export const INSERT_INSTANCE_SQL = `
INSERT INTO mailroom_workflow_instance (workflow, key, machine_version, status, state, state_value, tags, snapshot, parent)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (workflow, key) DO NOTHING
RETURNING id, version, created_at, updated_at`;

/** One history row: $1 instance, $2 outcome, $3 event, $4 state value after, $5 message id, $6 detail. */
export const INSERT_HISTORY_SQL = `
INSERT INTO mailroom_workflow_history (instance_id, outcome, event, state_value, message_id, detail)
VALUES ($1, $2, $3, $4, $5, $6)`;

/**
 * A transition's history row, and with $7 (keep the newest $7 rows) the instance's older ones
 * deleted. The DELETE does not see the row this statement inserts, so it keeps the $7 - 1
 * newest existing rows (found on the (instance_id, id) index).
 */
export const RECORD_HISTORY_SQL = `
WITH added AS (${INSERT_HISTORY_SQL.trim()} RETURNING id)
DELETE FROM mailroom_workflow_history h
 WHERE $7::int IS NOT NULL AND h.instance_id = $1
   AND h.id <= (SELECT id FROM mailroom_workflow_history WHERE instance_id = $1 ORDER BY id DESC OFFSET $7::int - 1 LIMIT 1)`;

/**
 * Arms a timer or records an activity ($3 kind) for wait id $2, answered by message $4,
 * due in $5 ms by the database clock. Re-arming the same id replaces the message: the
 * earlier one, if it still arrives, no longer matches and is ignored as stale.
 */
export const ARM_WAIT_SQL = `
INSERT INTO mailroom_workflow_wait (instance_id, wait_id, kind, message_id, due_at)
VALUES ($1, $2, $3, $4, CASE WHEN $5::bigint IS NULL THEN NULL ELSE now() + $5 * interval '1 millisecond' END)
ON CONFLICT (instance_id, wait_id) DO UPDATE SET kind = EXCLUDED.kind, message_id = EXCLUDED.message_id, due_at = EXCLUDED.due_at`;

/**
 * Consumes the wait that message $2 answers. No row: the timer was cancelled or re-armed,
 * or the activity's state was left — the message is stale. Runs under the instance's row
 * lock, so a wait is consumed once.
 */
export const CONSUME_WAIT_SQL = `
DELETE FROM mailroom_workflow_wait WHERE instance_id = $1 AND message_id = $2 RETURNING wait_id`;

/**
 * Cancels waits ($2 ids, null: all of the instance) and removes their messages that no
 * consumer holds yet; a message already in flight is recognised as stale when it arrives.
 */
export const CANCEL_WAITS_SQL = `
WITH gone AS (
  DELETE FROM mailroom_workflow_wait
   WHERE instance_id = $1 AND ($2::text[] IS NULL OR wait_id = ANY($2))
  RETURNING message_id
)
DELETE FROM mailroom_message m USING gone WHERE m.id = gone.message_id AND m.lease_id IS NULL`;

/** A failed instance (unknown state, unmapped version): $2 reason. */
export const FAIL_INSTANCE_SQL = `
UPDATE mailroom_workflow_instance SET status = 'failed', failure = $2, version = version + 1, updated_at = now()
 WHERE id = $1`;

/** Moves an instance to the current version after `migrate`: $2 version, $3 snapshot. */
export const MIGRATE_INSTANCE_SQL = `
UPDATE mailroom_workflow_instance SET machine_version = $2, snapshot = $3, updated_at = now() WHERE id = $1`;

const INSTANCE_COLUMNS = `id, workflow, key, machine_version, status, state_value, tags, failure, created_at, updated_at`;

/**
 * A page of one workflow's instances in id order after cursor $5 (null: from the start),
 * filtered by $2 status, $3 tag, $4 state path (null: any). A path matches an instance in
 * that state or inside it: `shipping` matches {"shipping":"waiting"}, `shipping.waiting`
 * matches it exactly. Served by mailroom_workflow_instance_list when a status is given.
 */
export const LIST_INSTANCES_SQL = `
SELECT ${INSTANCE_COLUMNS} FROM mailroom_workflow_instance
 WHERE workflow = $1
   AND ($2::text IS NULL OR status = $2)
   AND ($3::text IS NULL OR $3 = ANY(tags))
   AND ($4::text[] IS NULL OR state_value #> $4 IS NOT NULL
        OR state_value #>> trim_array($4, 1) = $4[cardinality($4)])
   AND ($5::bigint IS NULL OR id > $5)
 ORDER BY id LIMIT $6`;

export const GET_INSTANCE_SQL = `SELECT ${INSTANCE_COLUMNS}, snapshot FROM mailroom_workflow_instance WHERE workflow = $1 AND key = $2`;

export const LOCK_INSTANCE_SQL = `SELECT id, status, state_value FROM mailroom_workflow_instance WHERE workflow = $1 AND key = $2 FOR UPDATE`;

export const WAITS_SQL = `SELECT wait_id, kind, message_id, due_at FROM mailroom_workflow_wait WHERE instance_id = $1 ORDER BY due_at NULLS LAST, wait_id`;

/** The last $2 history rows of instance $1, newest first. */
export const HISTORY_SQL = `
SELECT id, outcome, event, state_value, message_id, detail, created_at FROM mailroom_workflow_history
 WHERE instance_id = $1 ORDER BY id DESC LIMIT $2`;

export const CANCEL_INSTANCE_SQL = `
UPDATE mailroom_workflow_instance SET status = 'cancelled', version = version + 1, updated_at = now() WHERE id = $1`;

/** Registers the definitions an app runs (all its versions), replacing what it said before. */
export const UPSERT_DEFINITION_SQL = `
INSERT INTO mailroom_workflow (name, versions) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET versions = EXCLUDED.versions, updated_at = now()`;

export const DEFINITIONS_SQL = `SELECT name, versions, updated_at FROM mailroom_workflow WHERE ($1::text IS NULL OR name = $1) ORDER BY name`;

/** Running instances of workflow $1 after id $2, a page ($3) at a time: the migration dry run. */
export const RUNNING_PAGE_SQL = `
SELECT id, key, machine_version, snapshot FROM mailroom_workflow_instance
 WHERE workflow = $1 AND status = 'running' AND id > $2 ORDER BY id LIMIT $3`;

/**
 * Testing kit: the timers of instance $1 due by the database clock plus $2 ms, soonest
 * first, each with the event its message carries.
 */
export const DUE_TIMERS_SQL = `
SELECT w.message_id, m.body -> 'event' AS event FROM mailroom_workflow_wait w
  JOIN mailroom_message m ON m.id = w.message_id
 WHERE w.instance_id = $1 AND w.kind = 'timer' AND w.due_at <= now() + $2 * interval '1 millisecond'
 ORDER BY w.due_at LIMIT 1`;

export const INSTANCE_ID_SQL = `SELECT id FROM mailroom_workflow_instance WHERE workflow = $1 AND key = $2`;

export const DELETE_MESSAGE_SQL = `DELETE FROM mailroom_message WHERE id = $1`;

/**
 * Cancels the child instance $1 (of one of the workflows $2) whose parent left the invoking
 * state: status, its waits and their unclaimed messages, and a history row ($3 the detail).
 */
export const CANCEL_CHILD_SQL = `
WITH child AS (
  UPDATE mailroom_workflow_instance SET status = 'cancelled', version = version + 1, updated_at = now()
   WHERE key = $1 AND workflow = ANY($2) AND status IN ('running', 'failed')
  RETURNING id, state_value
),
waits AS (
  DELETE FROM mailroom_workflow_wait w USING child WHERE w.instance_id = child.id RETURNING w.message_id
),
unclaimed AS (
  DELETE FROM mailroom_message m USING waits WHERE m.id = waits.message_id AND m.lease_id IS NULL
)
INSERT INTO mailroom_workflow_history (instance_id, outcome, event, state_value, message_id, detail)
SELECT id, 'cancelled', '{"type":"mailroom.cancel"}', state_value, NULL, $3 FROM child`;

/**
 * Whether the parent still awaits child start $3 (its wait row), locked FOR SHARE: a parent
 * leaving the state deletes that row, so it waits for this start to commit and then sees
 * (and cancels) the child; or it went first, and the child is not started.
 */
export const PARENT_AWAITS_SQL = `
SELECT 1 FROM mailroom_workflow_wait w JOIN mailroom_workflow_instance p ON p.id = w.instance_id
 WHERE p.workflow = $1 AND p.key = $2 AND w.message_id = $3
   FOR SHARE OF w`;
