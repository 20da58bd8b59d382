import { setup } from 'xstate';

export interface LeaseContext {
  queueId: number;
  consumer: string;
}

export type LeaseEvent = { type: 'RELEASE' } | { type: 'EXPIRE' };

/**
 * A claim on delivered messages, owned by whoever received them (one pull receive's
 * batch, or one push consumer's session): active → released (graceful: unstarted
 * messages go back without spending an attempt) | expired (the reaper: messages go back
 * and each counts one failed attempt). A finished lease is forgotten (its row deleted),
 * so lease rows are bounded by the leases alive. The deadline (expires_at) is a column
 * moved by its owner's extend or claims, not an event: it changes no state.
 */
export const leaseMachine = setup({
  types: {
    context: {} as LeaseContext,
    events: {} as LeaseEvent,
    input: {} as LeaseContext,
  },
  actions: {
    returnMessages: (_, _params: { countAttempt: boolean }) => {},
    forget: () => {},
  },
}).createMachine({
  id: 'lease',
  context: ({ input }) => input,
  initial: 'active',
  states: {
    active: {
      on: {
        RELEASE: {
          target: 'released',
          actions: [{ type: 'returnMessages', params: { countAttempt: false } }, 'forget'],
        },
        EXPIRE: {
          target: 'expired',
          actions: [{ type: 'returnMessages', params: { countAttempt: true } }, 'forget'],
        },
      },
    },
    // Terminal, but not XState-final: a late RELEASE or EXPIRE is a harmless no-op.
    released: { on: { RELEASE: {}, EXPIRE: {} } },
    expired: { on: { RELEASE: {}, EXPIRE: {} } },
  },
});
