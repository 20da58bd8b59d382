import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { subscriptionMachine } from './subscription.machine';

const start = () =>
  initialTransition(subscriptionMachine, { topicId: 1, name: 's', queueId: 2, routingKey: null, headers: {} })[0];

describe('subscription machine', () => {
  it('pauses and resumes, waking consumers on resume', () => {
    const [paused] = transition(subscriptionMachine, start(), { type: 'PAUSE' });
    expect(paused.value).toBe('paused');
    const [active, actions] = transition(subscriptionMachine, paused, { type: 'RESUME' });
    expect(active.value).toBe('active');
    expect(actions.map((a) => a.type)).toEqual(['wakeConsumers']);
  });

  it('changes its filter', () => {
    const filter = { routingKey: 'orders.*', headers: { region: 'eu' } };
    const [next] = transition(subscriptionMachine, start(), { type: 'CONFIGURE', filter });
    expect(next.context).toMatchObject(filter);
  });

  it('accepts nothing but DETACH once detached', () => {
    const [detached] = transition(subscriptionMachine, start(), { type: 'DETACH' });
    expect(detached.value).toBe('detached');
    expect(subscriptionMachine.getTransitionData(detached, { type: 'RESUME' })).toEqual([]);
    expect(subscriptionMachine.getTransitionData(detached, { type: 'DETACH' })).toHaveLength(1);
  });
});
