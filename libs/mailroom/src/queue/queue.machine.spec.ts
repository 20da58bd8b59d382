import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { queueMachine } from './queue.machine';
import { QUEUE_DEFAULTS } from './queue.options';

const start = () => initialTransition(queueMachine, { name: 'orders', options: QUEUE_DEFAULTS })[0];

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

  it('reconfigures but refuses to change ordering', () => {
    const active = start();
    const options = { ...QUEUE_DEFAULTS, leaseMs: 5_000 };
    const [configured] = transition(queueMachine, active, { type: 'CONFIGURE', options });
    expect(configured.context.options.leaseMs).toBe(5_000);
    const regroup = { type: 'CONFIGURE' as const, options: { ...options, ordering: 'grouped' as const } };
    expect(configured.can(regroup)).toBe(false);
  });

  it('accepts nothing but DELETE/DELETED while deleting, and nothing after', () => {
    const [deleting] = transition(queueMachine, start(), { type: 'DELETE' });
    expect(deleting.can({ type: 'RESUME' })).toBe(false);
    expect(deleting.can({ type: 'CONFIGURE', options: QUEUE_DEFAULTS })).toBe(false);
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
