import { describe, expect, it } from 'vitest';
import { fromPromise, initialTransition, setup, transition } from 'xstate';
import { pureInitialTransition, pureTransition } from './actor.transition';

/** A context built from input (the usual shape), a delay, and an invoke whose child has a system id. */
const machine = setup({
  types: { context: {} as { id: string; n: number }, input: {} as { id: string } },
  actors: { work: fromPromise(async () => 1) },
  actions: { note: () => undefined },
  delays: { SOON: 50 },
}).createMachine({
  id: 'm',
  initial: 'idle',
  context: ({ input }) => ({ id: input.id, n: 0 }),
  states: {
    idle: { entry: 'note', after: { SOON: 'waiting' }, on: { GO: 'working' } },
    working: {
      invoke: { src: 'work', id: 'job', systemId: 'the-job', onDone: 'idle' },
      on: { BUMP: { actions: ({ context }) => void (context.n += 1) } },
    },
    waiting: {},
  },
});

const strip = (snapshot: unknown) => JSON.parse(JSON.stringify(snapshot, (k, v) => (k === 'children' ? undefined : v)));

describe('pure transitions', () => {
  it('give what XState’s transition() and initialTransition() give: the snapshot and the actions, none run', () => {
    const [mine, mineActions] = pureInitialTransition(machine, { id: 'a' });
    const [theirs, theirActions] = initialTransition(machine, { id: 'a' });
    expect(strip(mine)).toEqual(strip(theirs));
    expect(mineActions.map((a) => a.type)).toEqual(theirActions.map((a) => a.type));
    const [next, actions] = pureTransition(machine, mine, { type: 'GO' });
    const [expected, expectedActions] = transition(machine, theirs, { type: 'GO' });
    expect(next.value).toBe('working');
    expect(strip(next)).toEqual(strip(expected));
    expect(actions.map((a) => a.type)).toEqual(expectedActions.map((a) => a.type));
  });

  it('give each call a system of its own: a child with a system id is spawned again and again', () => {
    const [idle] = pureInitialTransition(machine, { id: 'b' });
    for (let i = 0; i < 3; i++) {
      const [working] = pureTransition(machine, idle, { type: 'GO' });
      expect(Object.keys(working.children)).toEqual(['job']);
    }
  });
});
