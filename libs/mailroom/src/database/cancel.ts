import { connect, type Socket } from 'node:net';

/** What a connected `pg` client knows of its server session (its BackendKeyData). */
export interface CancelKey {
  host: string;
  port: number;
  processID: number | null;
  secretKey: number | null;
}

const CANCEL_REQUEST_CODE = 80877102;

/**
 * Asks the server `key.host` to cancel the statement running on the session the key came
 * from: the protocol's CancelRequest, on a connection of its own, to the address the client
 * connected to. Not `pg_cancel_backend(processID)`: behind PgBouncer the processID a client
 * sees is PgBouncer's random key, which may be another session's real pid; PgBouncer
 * forwards a CancelRequest to the server connection that client's transaction holds.
 */
export function sendCancelRequest(key: CancelKey): Promise<void> {
  if (key.processID === null || key.secretKey === null) return Promise.resolve();
  const request = Buffer.alloc(16);
  request.writeInt32BE(16, 0);
  request.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  request.writeInt32BE(key.processID, 8);
  request.writeInt32BE(key.secretKey, 12);
  return new Promise((resolve) => {
    const socket: Socket = key.host.startsWith('/')
      ? connect(`${key.host}/.s.PGSQL.${key.port}`)
      : connect(key.port, key.host);
    // The server answers a CancelRequest by closing the connection, as libpq waits for: one
    // that closes first may be gone before the cancel is passed on, and PgBouncer 1.18 dies
    // of it ("bad client state" in disconnect_client).
    socket.once('connect', () => socket.write(request));
    socket.once('end', () => socket.end());
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
    socket.setTimeout(5_000, () => socket.destroy());
  });
}
