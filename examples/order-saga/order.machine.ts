import { assign, fromPromise, setup } from 'xstate';

export interface Order {
  orderId: string;
  sku: string;
  quantity: number;
  amount: number;
}

type OrderEvent =
  | { type: 'PaymentCaptured'; orderId: string; paymentId: string }
  | { type: 'PaymentFailed'; orderId: string; reason: string }
  | { type: 'Shipped'; orderId: string; tracking: string };

/**
 * The order saga as a pure statechart: no I/O, every effect a named action or an invoked
 * activity, bound by name in order.workflow.ts. Draw it, test it with `transition()`.
 */
export const orderMachine = setup({
  types: {
    input: {} as Order,
    context: {} as Order & { paymentId: string | null; reservation: string | null; reason: string | null },
    events: {} as OrderEvent,
  },
  actors: {
    // Run by Mailroom as a handler of the workflow's activity queue (OrderWorkflow.reserveStock).
    reserveStock: fromPromise<{ reservation: string }, Order>(async () => ({ reservation: '' })),
  },
  actions: {
    requestPayment: () => undefined,
    requestShipment: () => undefined,
    releaseStock: () => undefined,
    refundPayment: () => undefined,
  },
  delays: { PAYMENT_TIMEOUT: 15 * 60_000, SHIPPING_TIMEOUT: 2 * 86_400_000 },
}).createMachine({
  id: 'order',
  version: '1',
  initial: 'awaitingPayment',
  context: ({ input }) => ({ ...input, paymentId: null, reservation: null, reason: null }),
  states: {
    awaitingPayment: {
      entry: 'requestPayment',
      after: { PAYMENT_TIMEOUT: { target: 'cancelled', actions: assign({ reason: 'payment timed out' }) } },
      on: {
        PaymentCaptured: { target: 'reserving', actions: assign({ paymentId: ({ event }) => event.paymentId }) },
        PaymentFailed: { target: 'cancelled', actions: assign({ reason: ({ event }) => event.reason }) },
      },
    },
    reserving: {
      tags: ['paid'],
      invoke: {
        src: 'reserveStock',
        id: 'reserveStock',
        input: ({ context }) => ({
          orderId: context.orderId,
          sku: context.sku,
          quantity: context.quantity,
          amount: context.amount,
        }),
        onDone: { target: 'shipping', actions: assign({ reservation: ({ event }) => event.output.reservation }) },
        onError: { target: 'refunding', actions: assign({ reason: ({ event }) => (event.error as Error).message }) },
      },
    },
    shipping: {
      tags: ['paid'],
      entry: 'requestShipment',
      after: { SHIPPING_TIMEOUT: { target: 'compensating', actions: assign({ reason: 'not shipped in time' }) } },
      on: { Shipped: 'completed' },
    },
    // Compensation: undo in reverse order what succeeded.
    compensating: { entry: ['releaseStock', 'refundPayment'], always: 'cancelled' },
    refunding: { entry: 'refundPayment', always: 'cancelled' },
    completed: { type: 'final' },
    cancelled: { type: 'final' },
  },
  // Only a cancelled order has a reason.
  output: ({ context }) => ({
    orderId: context.orderId,
    status: context.reason === null ? 'completed' : 'cancelled',
    reason: context.reason,
  }),
});
