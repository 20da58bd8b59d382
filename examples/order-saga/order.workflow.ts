import { Injectable } from '@nestjs/common';
import {
  NonRetryableError,
  Workflow,
  WorkflowAction,
  WorkflowActivity,
  type ActivityArgs,
  type WorkflowActionArgs,
  type WorkflowEffects,
} from '@mailroom/core';
import { orderMachine, type Order } from './order.machine';
import { Inventory } from './services';

type Context = Order & { paymentId: string | null; reservation: string | null };

/**
 * Where the saga meets the world. Orders start it from the `orders` queue; the payment
 * service's replies arrive on `payments.captured` (a reply may overtake the start: it is
 * retried until the order exists); shipping confirmations on `shipments`. Every message
 * an action sends is written in the transition's transaction.
 */
@Workflow(orderMachine, {
  correlate: {
    OrderPlaced: { from: 'orders', key: (m: Order) => m.orderId, start: true },
    PaymentCaptured: { from: 'payments.captured', key: (m: { orderId: string }) => m.orderId },
    PaymentFailed: { from: 'payments.captured', key: (m: { orderId: string }) => m.orderId },
    Shipped: { from: 'shipments', key: (m: { orderId: string }) => m.orderId },
  },
})
@Injectable()
export class OrderWorkflow {
  constructor(private readonly inventory: Inventory) {}

  @WorkflowAction('requestPayment')
  requestPayment({ context }: WorkflowActionArgs<Context>, out: WorkflowEffects) {
    out.send('payments', { orderId: context.orderId, amount: context.amount });
  }

  @WorkflowAction('requestShipment')
  requestShipment({ context }: WorkflowActionArgs<Context>, out: WorkflowEffects) {
    out.send('shipping', { orderId: context.orderId, sku: context.sku, quantity: context.quantity });
  }

  @WorkflowAction('releaseStock')
  releaseStock({ context }: WorkflowActionArgs<Context>, out: WorkflowEffects) {
    out.send('stock.releases', { orderId: context.orderId, reservation: context.reservation });
  }

  @WorkflowAction('refundPayment')
  refundPayment({ context }: WorkflowActionArgs<Context>, out: WorkflowEffects) {
    out.send('refunds', { orderId: context.orderId, paymentId: context.paymentId, amount: context.amount });
  }

  /** At-least-once: the idempotency key makes a retried reservation the same reservation. */
  @WorkflowActivity('reserveStock')
  reserveStock({ input, idempotencyKey }: ActivityArgs<Order>) {
    const reservation = this.inventory.reserve(idempotencyKey, input.sku, input.quantity);
    if (!reservation) throw new NonRetryableError(`${input.sku} is out of stock`);
    return { reservation };
  }
}
