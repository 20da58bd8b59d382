import type { EntityManager } from 'typeorm';
import { query } from '../database/transaction';

/**
 * Records that `consumer` processed `messageId`, in the caller's transaction. Returns
 * false if it already had (the effect exists: skip the handler). A concurrent attempt
 * on the same key waits on the primary key until the first commits (then sees the row)
 * or rolls back (then takes its place), so exactly one transaction's effects survive.
 */
export async function recordInInbox(manager: EntityManager, consumer: string, messageId: string): Promise<boolean> {
  const rows = await query(
    manager,
    `INSERT INTO mailroom_inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`,
    [consumer, messageId],
  );
  return rows.length === 1;
}

/** recordInInbox for many messages in one statement; returns the ids seen for the first time. */
export async function recordAllInInbox(
  manager: EntityManager,
  consumer: string,
  messageIds: string[],
): Promise<Set<string>> {
  const rows = await query<{ message_id: string }>(
    manager,
    `INSERT INTO mailroom_inbox (consumer, message_id) SELECT $1, unnest($2::text[])
     ON CONFLICT DO NOTHING RETURNING message_id`,
    [consumer, messageIds],
  );
  return new Set(rows.map((row) => row.message_id));
}

/**
 * Inbox rows older than the retention window, a batch at a time ($1 window in ms, $2 batch).
 * Safe to forget them: a message is acked in the same transaction as its inbox row, so only
 * an outside duplicate (same id sent again) can arrive later, and the window bounds that.
 */
export const INBOX_CLEANUP_SQL = `
DELETE FROM mailroom_inbox WHERE ctid = ANY(ARRAY(
  SELECT ctid FROM mailroom_inbox WHERE processed_at < now() - $1 * interval '1 millisecond' LIMIT $2))`;

/** The janitor step that forgets inbox rows past `retentionMs`. */
export function inboxCleanUp(retentionMs: number): (tx: EntityManager, batch: number) => Promise<unknown> {
  return (tx, batch) => query(tx, INBOX_CLEANUP_SQL, [retentionMs, batch]);
}
