import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { Interval } from '../database/singleton';
import { query } from '../database/transaction';

/** A server renews its rows this often; a row not renewed for HANDLER_TTL_MS is dead. */
const HEARTBEAT_MS = 5_000;
const HANDLER_TTL_MS = 15_000;

/**
 * Renews this server's rows (one statement, so one round trip however many patterns), and
 * drops the rows of servers that died long ago, so the table holds only live servers and
 * recent corpses.
 */
const REGISTER_SQL = `
WITH gone AS (
  DELETE FROM mailroom_transport_handler WHERE expires_at < now() - interval '1 hour'
)
INSERT INTO mailroom_transport_handler (pattern, server_id, expires_at)
SELECT p, $1, now() + $3 * interval '1 millisecond' FROM unnest($2::text[]) AS p
ON CONFLICT (pattern, server_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`;

const WITHDRAW_SQL = `DELETE FROM mailroom_transport_handler WHERE server_id = $1`;

const HANDLED_SQL = `
SELECT EXISTS (SELECT 1 FROM mailroom_transport_handler WHERE pattern = $1 AND expires_at > now()) AS handled`;

/**
 * Which request queues a running MailroomServer serves. Nest's built-in transports answer a
 * request for a pattern no server handles with "There is no matching message handler" at
 * once; over a broker the client cannot see the servers, so each server registers its
 * request queues here and renews them, and the client looks before it sends. A server that
 * stops withdraws at once; one that dies stops counting after HANDLER_TTL_MS, and requests
 * sent meanwhile wait in the queue for a server (or their timeout).
 */
export class HandlerRegistry {
  private readonly serverId = randomUUID();
  private heartbeat: Interval | null = null;

  constructor(private readonly dataSource: DataSource) {}

  /** Registers `queues` now, then renews them; `onBeat` hears whether each renewal reached the database. */
  async register(queues: string[], onBeat: (error?: unknown) => void): Promise<void> {
    const renew = () => query(this.dataSource.manager, REGISTER_SQL, [this.serverId, queues, HANDLER_TTL_MS]);
    await renew();
    this.heartbeat = new Interval(HEARTBEAT_MS, () => renew().then(() => onBeat()), onBeat);
    this.heartbeat.start();
  }

  async withdraw(): Promise<void> {
    await this.heartbeat?.stop();
    this.heartbeat = null;
    await query(this.dataSource.manager, WITHDRAW_SQL, [this.serverId]);
  }

  static async isHandled(dataSource: DataSource, queue: string): Promise<boolean> {
    const [{ handled }] = await query<{ handled: boolean }>(dataSource.manager, HANDLED_SQL, [queue]);
    return handled;
  }
}
