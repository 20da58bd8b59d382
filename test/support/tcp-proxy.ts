import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of Postgres that can lose the server's answers: `holdReplies()` drops
 * what the server sends (a statement runs and commits, its client hears nothing), `cut()`
 * drops every connection, as a failover or a dead network path does, and forwards again.
 */
export interface TcpProxy {
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  holdReplies(): void;
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(url: string): Promise<TcpProxy> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  let holding = false;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on('data', (chunk) => void (holding || client.write(chunk)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    via(other: string) {
      const proxied = new URL(other);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    holdReplies() {
      holding = true;
    },
    cut() {
      for (const socket of sockets) socket.destroy();
      holding = false;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
