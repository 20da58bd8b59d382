import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository the bench is run from (`npm run bench` runs at its root). */
const ROOT = process.cwd();

/** The installed version of an npm package, read from its package.json. */
export function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

/** This repository's version and commit (marked dirty when the work tree has changes). */
export function projectVersion(): string {
  let version = 'unknown';
  try {
    version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT }).toString().trim() ? '+dirty' : '';
    return `${version} (${commit}${dirty})`;
  } catch {
    return version;
  }
}
