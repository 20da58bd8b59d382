import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { leaseMachine } from './lease.machine';

const start = () => initialTransition(leaseMachine, { queueId: 1, consumer: 'c' })[0];

describe('lease machine', () => {
  it('releases gracefully without spending attempts', () => {
    const [released, actions] = transition(leaseMachine, start(), { type: 'RELEASE' });
    expect(released.value).toBe('released');
    expect(actions).toEqual([expect.objectContaining({ type: 'returnMessages', params: { countAttempt: false } })]);
  });

  it('expires by the reaper, spending one attempt per message', () => {
    const [expired, actions] = transition(leaseMachine, start(), { type: 'EXPIRE' });
    expect(expired.value).toBe('expired');
    expect(actions).toEqual([expect.objectContaining({ type: 'returnMessages', params: { countAttempt: true } })]);
  });

  it('ignores a late event once finished, returning nothing twice', () => {
    const [expired] = transition(leaseMachine, start(), { type: 'EXPIRE' });
    const [again, actions] = transition(leaseMachine, expired, { type: 'RELEASE' });
    expect(again.value).toBe('expired');
    expect(actions).toEqual([]);
  });
});
