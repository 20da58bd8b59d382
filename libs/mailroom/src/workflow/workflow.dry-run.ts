import type { StateValue } from 'xstate';
import type { EntityManager } from 'typeorm';
import { query } from '../database/transaction';
import type { StateTree } from './workflow.diagram';
import { RUNNING_PAGE_SQL } from './workflow.sql';

export interface Unmappable {
  key: string;
  version: string;
  reason: string;
}

const PAGE = 500;

/**
 * The migration dry run from the rows alone, as the broker can do it without the app's code:
 * running instances whose version no app registered (only the app's `migrate()` could map
 * them: `workflows.unmappable()` in the app runs it) or whose stored state that version's
 * machine does not have. Pages by id, so a large workflow is read in bounded pieces.
 */
export async function unmappableFromRows(
  manager: EntityManager,
  name: string,
  versions: { version: string; definition: StateTree }[],
): Promise<Unmappable[]> {
  const trees = new Map(versions.map((v) => [v.version, v.definition]));
  const found: Unmappable[] = [];
  for (let after = '0'; ;) {
    const rows = await query<{ id: string; key: string; machine_version: string; snapshot: { value: StateValue } }>(
      manager,
      RUNNING_PAGE_SQL,
      [name, after, PAGE],
    );
    for (const row of rows) {
      const reason = unknownState(trees.get(row.machine_version), row.machine_version, row.snapshot.value);
      if (reason) found.push({ key: row.key, version: row.machine_version, reason });
    }
    if (rows.length < PAGE) return found;
    after = rows[rows.length - 1].id;
  }
}

function unknownState(tree: StateTree | undefined, version: string, value: StateValue): string | null {
  if (!tree) return `version ${version} is not registered; only the app's migrate() could map it`;
  const missing = missingPath(tree, value);
  return missing ? `stored state ${missing} is unknown to version ${version}` : null;
}

/** The first dotted path of `value` that the tree has no state for, or null. */
function missingPath(node: StateTree, value: StateValue, prefix = ''): string | null {
  const entries: [string, StateValue | null][] =
    typeof value === 'string' ? [[value, null]] : Object.entries(value).map(([k, v]) => [k, v ?? null]);
  for (const [key, inner] of entries) {
    const child = node.states.find((s) => s.key === key);
    const path = prefix ? `${prefix}.${key}` : key;
    if (!child) return path;
    const deeper = inner === null ? null : missingPath(child, inner, path);
    if (deeper) return deeper;
  }
  return null;
}
