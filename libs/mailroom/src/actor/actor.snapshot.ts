import { createActor, type AnyMachineSnapshot, type AnyStateMachine, type StateValue } from 'xstate';
import type { PersistedActor } from './actor.entity';

/**
 * XState's own persisted form of a snapshot (value, context, status, output, history
 * values, children): everything `restore` needs to continue exactly where it stopped,
 * nested, parallel and history states included.
 */
export function persist(machine: AnyStateMachine, snapshot: AnyMachineSnapshot): PersistedActor {
  return JSON.parse(JSON.stringify(machine.getPersistedSnapshot(snapshot))) as PersistedActor;
}

/**
 * The stored snapshot as a live one. Not `machine.resolveState`: it drops children and
 * keeps history values as plain objects, which later history transitions cannot follow.
 * The actor is created, never started: nothing runs. Rows written before the full form
 * was stored (value and context only) are completed with its defaults. Throws when the
 * stored state does not exist in `machine`.
 */
export function restore(machine: AnyStateMachine, stored: PersistedActor): AnyMachineSnapshot {
  // createActor keeps an unknown state silently (a snapshot without nodes); resolveState
  // names it. The value is all it reads, so this check costs no restore of its own.
  machine.resolveState({ value: stored.value, context: {} });
  const snapshot = { status: 'active', historyValue: {}, children: {}, ...stored };
  return createActor(machine, { snapshot } as never).getSnapshot() as AnyMachineSnapshot;
}

/** The text form of a state value for the `state` column: the name, or JSON for nested and parallel states. */
export function stateText(value: StateValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
