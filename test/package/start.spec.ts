import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../support/database';
import { until } from '../support/wait';

const ROOT = join(__dirname, '..', '..');

/**
 * The README's start command as a container runtime or a terminal uses it: `npm start`
 * must not rebuild what is built, and its SIGTERM must reach the broker (npm forwards it
 * to its child, which is Node itself because the script `exec`s it).
 */
describe('npm start', () => {
  let database: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    database = await createEmptyDatabase();
  });
  afterAll(() => database?.drop());

  it('does not rebuild when nothing changed, and SIGTERM stops the broker gracefully', async () => {
    const buildInfo = join(ROOT, 'dist/tsconfig.build.tsbuildinfo');
    const builtAt = statSync(buildInfo).mtimeMs;
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (chunk) => (output += chunk));
    npm.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    await until(() => /Listening on http/.test(output), 60_000);
    // Not a terminal: the broker logs JSON lines, each with its pid.
    const brokerPid = Number(output.match(/"pid":(\d+)/)![1]);

    npm.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/SIGTERM: shutting down/);
    expect(() => process.kill(brokerPid, 0)).toThrow(/ESRCH/);
    expect(statSync(buildInfo).mtimeMs).toBe(builtAt);
  });
});
