import {
  createActor,
  createEmptyActor,
  type ActorScope,
  type AnyActorRef,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventObject,
  type InputFrom,
} from 'xstate';
import type { ActorAction } from './actor.store';

/** The actor standing in for each machine's transitions (never started); one per machine. */
const selves = new WeakMap<AnyStateMachine, AnyActorRef>();

/**
 * An inert scope for one pure transition of `machine`: XState's own `transition()` and
 * `initialTransition()` build one per call from a new actor of the machine, and that
 * actor's constructor computes the machine's initial state without input. For the usual
 * machine, whose context reads its input (`({ input }) => ({ id: input.orderId })`), that
 * throws, and XState catches it: a stack trace captured on every transition (34 → 10 µs a
 * transition measured; 7% of a workflow worker's CPU firing timers). Here the actor is
 * made once per machine; each call still gets a fresh actor system, as XState's scope
 * does, so the children a transition spawns register in it and nowhere shared.
 */
function inertScope(machine: AnyStateMachine, actions: ActorAction[]): ActorScope<AnyMachineSnapshot, EventObject> {
  let self = selves.get(machine);
  if (!self) {
    self = createActor(machine);
    selves.set(machine, self);
  }
  const system = createEmptyActor().system;
  // What XState's inert scope does to its own actor: spawned children take the parent's system.
  (self as { system: unknown }).system = system;
  return {
    self,
    defer: () => undefined,
    id: '',
    logger: () => undefined,
    sessionId: '',
    stopChild: () => undefined,
    system,
    emit: () => undefined,
    actionExecutor: (action: unknown) => void actions.push(action as ActorAction),
  } as unknown as ActorScope<AnyMachineSnapshot, EventObject>;
}

/** XState's `transition(machine, snapshot, event)`: the next snapshot and the actions, none run. */
export function pureTransition(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: EventObject,
): [AnyMachineSnapshot, ActorAction[]] {
  const actions: ActorAction[] = [];
  const next = machine.transition(snapshot as never, event as never, inertScope(machine, actions) as never);
  return [next as AnyMachineSnapshot, actions];
}

/** XState's `initialTransition(machine, input)`: the first snapshot and its actions, none run. */
export function pureInitialTransition<M extends AnyStateMachine>(
  machine: M,
  input?: InputFrom<M>,
): [AnyMachineSnapshot, ActorAction[]] {
  const actions: ActorAction[] = [];
  const first = machine.getInitialSnapshot(inertScope(machine, actions) as never, input as never);
  return [first as AnyMachineSnapshot, actions];
}
