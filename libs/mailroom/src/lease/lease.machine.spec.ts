import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { leaseMachine } from './lease.machine';

const start = () => initialTransition(leaseMachine, { queueId: 1, consumer: 'c' })[0];

describe('lease machine', () => {
  it('releases gracefully without spending attempts, then forgets the lease', () => {
    const [released, actions] = transition(leaseMachine, start(), { type: 'RELEASE' });
    expect(released.value).toBe('released');
    expect(actions).toEqual([
      expect.objectContaining({ type: 'returnMessages', params: { countAttempt: false } }),
      expect.objectContaining({ type: 'forget' }),
    ]);
  });

  it('expires by the reaper, spending one attempt per message, then forgets the lease', () => {
    const [expired, actions] = transition(leaseMachine, start(), { type: 'EXPIRE' });
    expect(expired.value).toBe('expired');
    expect(actions).toEqual([
      expect.objectContaining({ type: 'returnMessages', params: { countAttempt: true } }),
      expect.objectContaining({ type: 'forget' }),
    ]);
  });

  it('ignores a late event once finished, returning nothing twice', () => {
    const [expired] = transition(leaseMachine, start(), { type: 'EXPIRE' });
    const [again, actions] = transition(leaseMachine, expired, { type: 'RELEASE' });
    expect(again.value).toBe('expired');
    expect(actions).toEqual([]);
  });
});
