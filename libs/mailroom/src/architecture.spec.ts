import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Layers run one way (STYLE.md guideline 15): a folder may import its own rank or a lower
 * one, never a higher one, and only folders named here exist. `services/` wires the
 * concepts of ranks 3 and 4 into what the handlers, transport, inbox, outbox and workflows use, so
 * none of them needs the public client, which is only a front over it.
 */
const RANKS: Record<string, number> = {
  errors: 0,
  message: 0,
  database: 0,
  // Counters and spans every layer records into (the Nest metrics provider is in module/).
  observability: 0,
  actor: 1,
  'dead-letter': 2,
  queue: 2,
  topic: 3,
  subscription: 3,
  producer: 3,
  lease: 3,
  // Claims and settlements compose lease/'s renewals (lease/renew.sql.ts); leases never need a delivery.
  delivery: 4,
  services: 5,
  handlers: 6,
  inbox: 6,
  outbox: 6,
  transport: 6,
  workflow: 6,
  client: 7,
  module: 8,
  testing: 8,
};
/** index.ts ranks above all. Out of src, only the migrations the package ships, and only from the top (index, testing). */
const INDEX_RANK = 9;
const SHIPPED_OUTSIDE = [resolve(__dirname, '../../../migrations')];
const SHIPPED_FROM_RANK = 8;

const SRC = __dirname;
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

function folderOf(path: string): string | null {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return null;
  return rel.includes('/') ? rel.split('/')[0] : '';
}

/** Every relative import of `source` (at `path`) that breaks the rank table, as "from → to". */
function violations(path: string, source: string): string[] {
  const from = folderOf(path)!;
  const fromRank = from === '' ? INDEX_RANK : RANKS[from];
  const found: string[] = [];
  const name = relative(SRC, path);
  if (fromRank === undefined) return [`${name}: folder "${from}" is not in the rank table`];
  for (const match of source.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2];
    if (!specifier.startsWith('.')) continue;
    const target = resolve(dirname(path), specifier);
    const to = folderOf(target);
    if (to === null) {
      if (!(fromRank >= SHIPPED_FROM_RANK && SHIPPED_OUTSIDE.includes(target)))
        found.push(`${name} → ${specifier} (outside the package)`);
      continue;
    }
    const toRank = to === '' ? INDEX_RANK : RANKS[to];
    if (toRank === undefined) found.push(`${name} → ${specifier} (folder "${to}" is not in the rank table)`);
    else if (toRank > fromRank)
      found.push(`${name} (${from}, rank ${fromRank}) → ${specifier} (${to}, rank ${toRank})`);
  }
  return found;
}

describe('layers', () => {
  it('no library file imports a higher layer, an unknown folder or outside the package', () => {
    const found = files(SRC).flatMap((path) => violations(path, readFileSync(path, 'utf8')));
    expect(found).toEqual([]);
  });

  it('the broker (src/) uses the library only through @mailroom/core', () => {
    const broker = resolve(SRC, '../../../src');
    const deep = files(broker).flatMap((path) =>
      [...readFileSync(path, 'utf8').matchAll(IMPORT)]
        .map((match) => match[1] ?? match[2])
        .filter((specifier) => specifier.startsWith('@mailroom/core/') || specifier.includes('libs/mailroom'))
        .map((specifier) => `${relative(broker, path)} → ${specifier}`),
    );
    expect(deep).toEqual([]);
  });

  it('the check catches an upward import (a queue file importing the client)', () => {
    const path = join(SRC, 'queue/queue.service.ts');
    expect(violations(path, `import { MailroomClient } from '../client/mailroom.client';`)).toHaveLength(1);
    expect(violations(path, `import type { X } from '../../../migrations';`)).toHaveLength(1);
    expect(violations(path, `import { query } from '../database/transaction';`)).toEqual([]);
  });
});
