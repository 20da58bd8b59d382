import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_ADMIN_KEY } from '../support/auth';

/** The compiled CLI, as `npm install` links it (npm test builds it first: `pretest`). */
export const CLI = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, for --json runs. */
  json: any;
}

/**
 * Runs `mailroom ...args` as a child process. Asynchronously: the broker it talks to runs
 * in this process and must keep answering while the CLI waits.
 */
export function mailroom(url: string, ...args: string[]): Promise<CliRun> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it for you).`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, MAILROOM_URL: url, MAILROOM_KEY: TEST_ADMIN_KEY }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        if (typeof code !== 'number') return reject(error);
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = undefined;
        }
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}
