import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { until } from './wait';

/** Debian's pgbouncer (`.ci/run` installs it with apt), or null when this machine has none. */
export function pgbouncerBinary(): string | null {
  const candidates = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];
  return candidates.find((path) => existsSync(path)) ?? null;
}

export interface Pgbouncer {
  /** `databaseUrl` with its host and port replaced by PgBouncer's. */
  url: string;
  /** SHOW POOLS and friends: the admin console's database. */
  adminUrl: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts PgBouncer in transaction pooling mode on a free loopback port, in front of the
 * server of `databaseUrl` (every database on it, by name). Clients are trusted; PgBouncer
 * logs in to PostgreSQL as the URL's user with its password. It refuses to run as root, so
 * as root it drops to the `postgres` user the Debian package's dependencies create.
 */
export async function startPgbouncer(databaseUrl: string, binary: string): Promise<Pgbouncer> {
  const server = new URL(databaseUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const password = decodeURIComponent(server.password);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-pgbouncer-'));
  chmodSync(dir, 0o755);
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  writeFileSync(join(dir, 'users.txt'), `${quote(user)} ${quote(password)}\n`, { mode: 0o644 });
  const serverPassword = password ? ` password=${password}` : '';
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432} user=${user}${serverPassword}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `admin_users = ${user}`,
      'pool_mode = transaction',
      'max_client_conn = 1000',
      // Fewer server connections than clients, so transactions really do change connections.
      'default_pool_size = 8',
      // pg sends none of these unless asked; TypeORM may, and 1.18 refuses any it does not track.
      'ignore_startup_parameters = extra_float_digits',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(binary, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const adminUrl = new URL(url);
  adminUrl.pathname = '/pgbouncer';
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited:\n${log}`);
      const probe = new Client({ connectionString: adminUrl.href });
      return probe.connect().then(
        () => probe.end().then(() => true),
        () => false,
      );
    }, 20_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: url.href, adminUrl: adminUrl.href, stop };
}
