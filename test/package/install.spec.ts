import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../support/database';
import { startProcess, type RunningProcess } from '../support/processes';
import { until } from '../support/wait';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'billing');
const EXAMPLE_FILES = ['src/billing.ts', 'src/app.module.ts', 'src/main.ts'];

/**
 * What a new user does: pack both packages, install the tarballs into a fresh Nest app
 * outside the repository (dependencies from the npm cache), compile it with tsc (the
 * typed registry augmentation included) and run it against real Postgres. The app is
 * examples/billing, whose files the README quotes verbatim.
 */
describe('the packages, installed from their tarballs', () => {
  let dir: string;
  let app: string;
  let database: { url: string; drop(): Promise<void> };
  let example: RunningProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailroom-package-'));
    app = join(dir, 'app');
    const packs = join(dir, 'packs');
    mkdirSync(packs);
    await npm(ROOT, ['pack', '--workspace', 'libs/mailroom', '--pack-destination', packs]);
    await npm(ROOT, ['pack', '--pack-destination', packs]);
    cpSync(join(EXAMPLE, 'src'), join(app, 'src'), { recursive: true });
    cpSync(join(EXAMPLE, 'tsconfig.json'), join(app, 'tsconfig.json'));
    const manifest = JSON.parse(readFileSync(join(EXAMPLE, 'package.json'), 'utf8'));
    manifest.dependencies['@mailroom/core'] = `file:${join(packs, 'mailroom-core-0.1.0.tgz')}`;
    manifest.dependencies['@mailroom/broker'] = `file:${join(packs, 'mailroom-broker-0.1.0.tgz')}`;
    writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    await npm(app, ['install', '--prefer-offline', '--no-audit', '--no-fund']);
    database = await createEmptyDatabase();
  }, 600_000);

  afterAll(async () => {
    await example?.kill('SIGTERM');
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships the library with its types and peers only, and the broker with the CLI', () => {
    const core = JSON.parse(readFileSync(join(app, 'node_modules/@mailroom/core/package.json'), 'utf8'));
    expect(core.dependencies).toBeUndefined();
    expect(Object.keys(core.peerDependencies)).toEqual(expect.arrayContaining(['@nestjs/core', 'typeorm', 'pg']));
    // One @nestjs/core in the app: a second copy would break Nest's dependency injection.
    expect(existsSync(join(app, 'node_modules/@mailroom/core/node_modules'))).toBe(false);
    expect(readdirSync(join(app, 'node_modules/.bin'))).toEqual(
      expect.arrayContaining(['mailroom', 'mailroom-broker']),
    );
  });

  it('runs the `mailroom` CLI and the broker from the broker package', async () => {
    const { stdout } = await run(join(app, 'node_modules/.bin/mailroom'), ['--help']);
    expect(stdout).toMatch(/^Usage: mailroom /m);
    const broker = startProcess(join(app, 'node_modules/.bin/mailroom-broker'), {
      DATABASE_URL: database.url,
      PORT: '0',
    });
    try {
      await broker.waitForLine(/Listening on http:\/\/localhost:\d+/, 60_000);
    } finally {
      await broker.kill('SIGTERM');
    }
    expect(broker.child.exitCode).toBe(0);
  });

  it('exports the testing helpers at @mailroom/core/testing', async () => {
    const script = `const t = require('@mailroom/core/testing'); console.log(Object.keys(t).sort().join(','))`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: app });
    expect(stdout.trim()).toBe('createTestDatabase,waitUntilDrained');
  });

  it('type-checks and runs the README example: a charge committed, a receipt sent, a bad order dead-lettered', async () => {
    await run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', app]);
    example = startProcess(join(app, 'dist/main.js'), { DATABASE_URL: database.url });
    const db = new Client({ connectionString: database.url });
    await db.connect();
    try {
      // Zero until the app's migrations created the tables.
      const inQueue = async (queue: string) => {
        const sql = `SELECT count(*) AS n FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
                      WHERE q.name = $1`;
        const result = await db.query(sql, [queue]).catch(() => ({ rows: [{ n: 0 }] }));
        return Number(result.rows[0].n);
      };
      await until(async () => (await inQueue('orders.dlq')) === 1 && (await inQueue('receipts')) === 1, 60_000);
      const { rows } = await db.query('SELECT order_id, amount FROM charge');
      expect(rows).toEqual([{ order_id: 'order-1', amount: 4200 }]);
      expect(await inQueue('orders')).toBe(0);
    } finally {
      await db.end();
    }
  });

  it('is quoted verbatim by the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const quoted = new Map(
      [...readme.matchAll(/<!-- examples\/billing\/(\S+) -->\n```ts\n([\s\S]*?)```/g)].map((m) => [m[1], m[2]]),
    );
    for (const file of EXAMPLE_FILES) expect(quoted.get(file), file).toBe(readFileSync(join(EXAMPLE, file), 'utf8'));
  });
});

async function npm(cwd: string, args: string[]): Promise<void> {
  await run('npm', args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } });
}
