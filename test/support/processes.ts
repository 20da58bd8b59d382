import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** A compiled fixture (npm test builds them first: `pretest`). */
export function fixture(name: string): string {
  return compiled(join('test', 'fixtures', `${name}.js`));
}

/** The compiled broker, as `npm start` runs it. */
export function compiledBroker(): string {
  return compiled(join('src', 'main.js'));
}

function compiled(relative: string): string {
  const path = join(__dirname, '..', '..', 'dist', relative);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` (npm test does it for you).`);
  return path;
}

export interface RunningProcess {
  child: ChildProcess;
  /** Resolves with the first stdout line matching `pattern`. */
  waitForLine(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Calls `listener` with every complete stdout line from now on. */
  onLine(listener: (line: string) => void): void;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startProcess(script: string, env: Record<string, string>): RunningProcess {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let partial = '';
  const listeners = new Set<() => void>();
  const lineListeners: ((line: string) => void)[] = [];
  child.stdout!.on('data', (chunk) => {
    output += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) lineListeners.forEach((l) => l(line));
    listeners.forEach((l) => l());
  });
  child.stderr!.on('data', (chunk) => process.stderr.write(chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    waitForLine(pattern, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output
            .split('\n')
            .map((line) => line.match(pattern))
            .find(Boolean);
          if (match) {
            cleanup();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no line matching ${pattern} within ${ms} ms; output so far:\n${output}`));
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    onLine(listener) {
      lineListeners.push(listener);
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
