import type { AnyStateMachine } from 'xstate';

/** XState's built-in actions (raise, cancel, spawnChild, ...): a kind may give them effects without declaring them. */
const BUILT_IN = 'xstate.';

/**
 * The machine's named actions that change nothing in the snapshot (every one but `assign`):
 * the actor store runs them as effects, so each needs one.
 */
export function effectActions(machine: AnyStateMachine): string[] {
  const actions = (machine.implementations.actions ?? {}) as Record<string, { type?: string }>;
  return Object.entries(actions)
    .filter(([, implementation]) => implementation?.type !== 'xstate.assign')
    .map(([name]) => name);
}

/**
 * What does not match between a machine's actions and a kind's effects: an action without
 * an effect would be skipped silently (rename `returnMessages` and expired leases would
 * stop returning messages), an effect without an action would never run.
 */
export function effectMismatches(machine: AnyStateMachine, effects: Record<string, unknown>): string[] {
  const actions = effectActions(machine);
  const named = Object.keys(effects).filter((name) => !name.startsWith(BUILT_IN));
  return [
    ...actions.filter((name) => !(name in effects)).map((name) => `action "${name}" has no effect`),
    ...named.filter((name) => !actions.includes(name)).map((name) => `effect "${name}" has no action`),
  ];
}
