import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/database/embedded-postgres';
import { reachableByOthers } from '../../src/database/postgres-reachable';

const asRoot = process.getuid?.() === 0;

/**
 * Run as root, the embedded PostgreSQL runs as the `postgres` user, who cannot enter a
 * private folder (root's home is mode 700): the README's commands must still work there.
 */
describe.runIf(asRoot)('embedded PostgreSQL started by root for a private folder', () => {
  const privateDir = mkdtempSync(join(tmpdir(), 'mailroom-private-'));
  chmodSync(privateDir, 0o700);
  let server: EmbeddedServer | undefined;
  afterAll(async () => {
    await server?.stop();
    if (server) rmSync(server.dataDir, { recursive: true, force: true });
    rmSync(privateDir, { recursive: true, force: true });
  });

  it('keeps its data where the postgres user can reach it, and answers', async () => {
    const requested = join(privateDir, 'pg');
    expect(reachableByOthers(requested)).toBe(false);
    server = await startEmbeddedPostgres({ dataDir: requested });
    expect(server.dataDir).not.toBe(requested);
    expect(reachableByOthers(server.dataDir)).toBe(true);
    const client = new Client({ connectionString: server.url });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });
});
