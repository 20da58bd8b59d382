import { setup } from 'xstate';

export interface LeaseContext {
  queueId: number;
  consumer: string;
}

export type LeaseEvent = { type: 'RELEASE' } | { type: 'EXPIRE' };

/**
 * A consumer session's claim on the messages it received: active → released
 * (graceful: unstarted messages go back without spending an attempt) | expired (the
 * reaper: messages go back and each counts one failed attempt). The heartbeat
 * (expires_at) is a column renewed by receive/extend, not an event: it changes no state.
 */
export const leaseMachine = setup({
  types: {
    context: {} as LeaseContext,
    events: {} as LeaseEvent,
    input: {} as LeaseContext,
  },
  actions: {
    returnMessages: (_, _params: { countAttempt: boolean }) => {},
  },
}).createMachine({
  id: 'lease',
  context: ({ input }) => input,
  initial: 'active',
  states: {
    active: {
      on: {
        RELEASE: { target: 'released', actions: { type: 'returnMessages', params: { countAttempt: false } } },
        EXPIRE: { target: 'expired', actions: { type: 'returnMessages', params: { countAttempt: true } } },
      },
    },
    // Terminal, but not XState-final: a late RELEASE or EXPIRE is a harmless no-op.
    released: { on: { RELEASE: {}, EXPIRE: {} } },
    expired: { on: { RELEASE: {}, EXPIRE: {} } },
  },
});
