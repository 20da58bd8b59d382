import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { queueMachine } from './queue.machine';
import { InvalidRequestError } from '../errors/mailroom.errors';
import { queueDefaults, resolveQueueOptions } from './queue.options';

const QUEUE_DEFAULTS = queueDefaults('orders');

const start = () =>
  initialTransition(queueMachine, { name: 'orders', options: QUEUE_DEFAULTS, deadLetterQueueId: 7 })[0];

describe('queue machine', () => {
  it('starts active and pauses, resumes (waking consumers) and deletes', () => {
    const active = start();
    expect(active.value).toBe('active');
    const [paused] = transition(queueMachine, active, { type: 'PAUSE' });
    expect(paused.value).toBe('paused');
    const [resumed, actions] = transition(queueMachine, paused, { type: 'RESUME' });
    expect(resumed.value).toBe('active');
    expect(actions.map((a) => a.type)).toContain('wakeConsumers');
    const [deleting] = transition(queueMachine, resumed, { type: 'DELETE' });
    expect(deleting.value).toBe('deleting');
    const [deleted] = transition(queueMachine, deleting, { type: 'DELETED' });
    expect(deleted.value).toBe('deleted');
  });

  it('reconfigures but refuses to change ordering or to be its own DLQ', () => {
    const active = start();
    const options = { ...QUEUE_DEFAULTS, leaseMs: 5_000 };
    const [configured] = transition(queueMachine, active, { type: 'CONFIGURE', options, deadLetterQueueId: 8 });
    expect(configured.context).toMatchObject({ options: { leaseMs: 5_000 }, deadLetterQueueId: 8 });
    const regroup = {
      type: 'CONFIGURE' as const,
      options: { ...options, ordering: 'grouped' as const },
      deadLetterQueueId: 8,
    };
    expect(configured.can(regroup)).toBe(false);
    // Its own DLQ is bad input, refused in one place before any transition: the options.
    expect(() => resolveQueueOptions('orders', { deadLetterQueue: 'orders' })).toThrow(InvalidRequestError);
  });

  it('accepts nothing but DELETE/DELETED while deleting, and nothing after', () => {
    const [deleting] = transition(queueMachine, start(), { type: 'DELETE' });
    expect(deleting.can({ type: 'RESUME' })).toBe(false);
    expect(deleting.can({ type: 'CONFIGURE', options: QUEUE_DEFAULTS, deadLetterQueueId: null })).toBe(false);
    const [deleted] = transition(queueMachine, deleting, { type: 'DELETED' });
    expect(deleted.can({ type: 'PAUSE' })).toBe(false);
  });

  it('restores from the persisted value and context', () => {
    const [paused] = transition(queueMachine, start(), { type: 'PAUSE' });
    const restored = queueMachine.resolveState({ value: String(paused.value), context: paused.context });
    expect(restored.value).toBe('paused');
    expect(transition(queueMachine, restored, { type: 'RESUME' })[0].value).toBe('active');
  });
});
