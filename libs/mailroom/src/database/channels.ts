/** Channel that says "queue <id> may have deliverable messages"; payload is the queue id. */
export const MESSAGE_CHANNEL = 'mailroom_message';
/** Channel on which every actor transition is announced; payload is an ActorAnnouncement. */
export const ACTOR_CHANNEL = 'mailroom_actor';

/** Channel that says "destination <name> has outbox rows to relay"; payload is the destination. */
export const OUTBOX_CHANNEL = 'mailroom_outbox';

/** A wake-up for queue $1, delivered by Postgres only if and when the transaction commits. */
export const NOTIFY_QUEUE_SQL = `SELECT pg_notify('${MESSAGE_CHANNEL}', $1::text)`;

export interface ActorAnnouncement {
  kind: string;
  id: unknown;
  state: string;
}
