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

/** Arms (wait ids, kinds, message ids, delays in ms or null: parameters from `first` on) for instance $1. */
const ARMED = (first: number) => `
  INSERT INTO mailroom_workflow_wait (instance_id, wait_id, kind, message_id, due_at)
  SELECT $1, a.wait_id, a.kind, a.message_id,
         CASE WHEN a.delay_ms IS NULL THEN NULL ELSE now() + a.delay_ms * interval '1 millisecond' END
    FROM unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::uuid[], $${first + 3}::bigint[])
         AS a(wait_id, kind, message_id, delay_ms)
  ON CONFLICT (instance_id, wait_id)
  DO UPDATE SET kind = EXCLUDED.kind, message_id = EXCLUDED.message_id, due_at = EXCLUDED.due_at`;

/**
 * Arms timers, activities and child starts for instance $1 (wait ids $2, kinds $3, answering
 * messages $4, delays $5 in ms, by the database clock). Re-arming the same id replaces the
 * message: the earlier one, if it still arrives, no longer matches and is ignored as stale.
 */
export const ARM_WAITS_SQL = ARMED(2).trim();

/**
 * A transition's writes, in one statement: its history row ($1 instance, $2 outcome, $3
 * event, $4 state value after, $5 message id, $6 detail); the waits it armed ($8-$11, as
 * ARM_WAITS_SQL); the answered activity job $12 (deleted unless a consumer claimed it);
 * its new snapshot when it changed one ($13 status, $14 state, $15 state value, $16 tags,
 * $17 snapshot, fenced by $18 the version it read, null: no change); and with $7 (keep
 * the newest $7 rows) the instance's older history deleted. A workflow's transition is
 * not announced on the actor channel: no node caches instances, and every NOTIFY
 * serializes commits database-wide.
 * That DELETE does not see the row this statement inserts, so it keeps the $7 - 1 newest
 * existing rows (found on the (instance_id, id) index). `saved` is 0 when the version
 * did not match (the caller fails the transaction); `began_ms` and `clock_ms` are the
 * transaction's `now()` and the clock as it ran (AfterCommit.observe: timers' deadlines).
 */
export const RECORD_HISTORY_SQL = `
WITH added AS (${INSERT_HISTORY_SQL.trim()} RETURNING id),
armed AS (${ARMED(8)}),
answered AS (DELETE FROM mailroom_message WHERE $12::uuid IS NOT NULL AND id = $12 AND lease_id IS NULL),
saved AS (
  UPDATE mailroom_workflow_instance
     SET status = $13, state = $14, state_value = $15, tags = $16, snapshot = $17, version = $18 + 1, updated_at = now()
   WHERE $18::int IS NOT NULL AND id = $1 AND version = $18
  RETURNING id
),
trimmed AS (
  DELETE FROM mailroom_workflow_history h
   WHERE $7::int IS NOT NULL AND h.instance_id = $1
     AND h.id <= (SELECT id FROM mailroom_workflow_history WHERE instance_id = $1 ORDER BY id DESC OFFSET $7::int - 1 LIMIT 1)
)
SELECT (SELECT count(*) FROM saved)::int AS saved,
       (extract(epoch FROM now()) * 1000)::float8 AS began_ms, (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS clock_ms`;

/**
 * Locks the instance of workflow $1 and key $2 and, while it runs, consumes the wait that
 * message $3 answers (null: none) in the same statement. No `consumed_wait` for a timer or
 * activity message: it was cancelled or re-armed, or its state was left — it is stale.
 * A transition of the instance in progress is waited for, and the wait row is then read
 * at its latest version, so a wait is consumed once.
 */
export const LOCK_FOR_EVENT_SQL = `
WITH i AS (
  SELECT * FROM mailroom_workflow_instance WHERE workflow = $1 AND key = $2 FOR UPDATE
),
consumed AS (
  DELETE FROM mailroom_workflow_wait w USING i
   WHERE $3::uuid IS NOT NULL AND w.instance_id = i.id AND w.message_id = $3 AND i.status = 'running'
  RETURNING w.wait_id
)
SELECT i.*, (SELECT wait_id FROM consumed) AS consumed_wait FROM i`;

/**
 * Timers fired by the process that armed them (HeldTimers), not by their messages'
 * delivery, in one statement: locks the instances (workflows $1, keys $2, in id order)
 * and consumes each timer's wait (message ids $3) that is due by the database clock and
 * whose message no consumer holds. A row per timer whose instance exists and is not
 * locked by another transaction (a consumer's delivery: skipped, never waited for, so a
 * batch and a consumer's transaction cannot deadlock), as LOCK_FOR_EVENT_SQL returns it
 * plus `fired_wait`; `due_in_ms` tells how far off a wait not consumed is (null: gone).
 */
export const LOCK_DUE_TIMERS_SQL = `
WITH t AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[]) AS t(workflow, key, wait)
),
i AS (
  SELECT i.*, t.wait AS fired_wait FROM mailroom_workflow_instance i JOIN t ON i.workflow = t.workflow AND i.key = t.key
   ORDER BY i.id FOR UPDATE OF i SKIP LOCKED
),
consumed AS (
  DELETE FROM mailroom_workflow_wait w USING i
   WHERE w.instance_id = i.id AND w.message_id = i.fired_wait AND i.status = 'running' AND w.due_at <= now()
     AND NOT EXISTS (SELECT 1 FROM mailroom_message m WHERE m.id = i.fired_wait AND m.lease_id IS NOT NULL)
  RETURNING w.message_id, w.wait_id
)
SELECT i.*, c.wait_id AS consumed_wait,
       (SELECT extract(epoch FROM w.due_at - now()) * 1000 FROM mailroom_workflow_wait w
         WHERE w.instance_id = i.id AND w.message_id = i.fired_wait) AS due_in_ms
  FROM i LEFT JOIN consumed c ON c.message_id = i.fired_wait`;

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
