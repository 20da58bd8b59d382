import { InvalidRequestError } from '@mailroom/core';

/**
 * What a key may do. A scope is `admin` (manage keys, read the audit trail) or
 * `<action>:<pattern>`: the action on every queue, topic, workflow or producer whose name
 * matches the pattern, where `*` stands for any run of characters (`orders-*`, `*`).
 */
export const RESOURCE_ACTIONS = ['produce', 'consume', 'manage'] as const;
export type ResourceAction = (typeof RESOURCE_ACTIONS)[number];
export type Action = ResourceAction | 'admin';

/** Everything: what the seeded and first-start keys get. */
export const ALL_SCOPES = ['admin', 'produce:*', 'consume:*', 'manage:*'];

const SCOPE = /^(admin|(produce|consume|manage):[^\s:]{1,200})$/;

/** Validates scopes from the admin API or CLI (400 naming the bad one). */
export function parseScopes(input: unknown): string[] {
  if (!Array.isArray(input) || input.length === 0 || input.length > 100) {
    throw new InvalidRequestError('scopes', 'must be a list of 1 to 100 scopes');
  }
  for (const scope of input) {
    if (typeof scope !== 'string' || !SCOPE.test(scope)) {
      throw new InvalidRequestError(
        'scopes',
        `invalid scope ${JSON.stringify(scope)}: use admin or produce|consume|manage:<name pattern with *>`,
      );
    }
  }
  return [...new Set(input as string[])];
}

/** Whether `scopes` allow `action` on the resource named `name` (admin needs no name). */
export function allows(scopes: readonly string[], action: Action, name = ''): boolean {
  if (action === 'admin') return scopes.includes('admin');
  return scopes.some((scope) => scope.startsWith(`${action}:`) && matches(scope.slice(action.length + 1), name));
}

/** A glob where only `*` is special, so a name with regex characters matches only itself. */
function matches(pattern: string, name: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(name);
}
