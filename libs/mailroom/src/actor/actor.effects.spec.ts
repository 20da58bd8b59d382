import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { leaseActor } from '../lease/lease.actor';
import { queueActor } from '../queue/queue.actor';
import { subscriptionActor } from '../subscription/subscription.actor';
import { effectMismatches } from './actor.effects';

describe('actor kinds declare their effects', () => {
  it.each([queueActor, leaseActor, subscriptionActor])(
    '$name: every action has an effect, every effect an action',
    (kind) => {
      expect(effectMismatches(kind.machine, kind.effects)).toEqual([]);
    },
  );

  it('names an action without an effect and an effect without an action', () => {
    const machine = setup({ actions: { returnMessages: () => {} } }).createMachine({});
    expect(effectMismatches(machine, { returnMessage: async () => {} })).toEqual([
      'action "returnMessages" has no effect',
      'effect "returnMessage" has no action',
    ]);
  });
});
