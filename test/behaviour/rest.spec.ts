import { expect } from 'vitest';
import { startBroker, statsOf } from '../rest/broker';
import { StaleReceipts, type Delivery, type DeliveryAdapter } from './adapter';
import { describeDelivery } from './delivery.behaviour';

/**
 * The REST broker as the suite drives it: every call checks the wire format (status, the
 * exact keys of a settlement's answer) and turns a 409 lease_lost into `StaleReceipts`.
 */
async function restBroker(): Promise<DeliveryAdapter> {
  const broker = await startBroker();
  const call = async (path: string, body: unknown, status = 200) => {
    const reply = await broker.call('POST', `/v1/queues/${path}`, body);
    if (reply.status === 409 && reply.body.error.code === 'lease_lost')
      throw new StaleReceipts(reply.body.error.receipts);
    expect(reply.status, `${path} → ${JSON.stringify(reply.body)}`).toBe(status);
    return reply.body;
  };
  const answer = async (path: string, body: unknown, key: string) => {
    const reply = await call(path, body);
    expect(Object.keys(reply)).toEqual([key]);
    return reply[key];
  };
  return {
    db: broker.db.dataSource,
    async createQueue(name, options = {}) {
      expect((await broker.call('PUT', `/v1/queues/${name}`, options)).status).toBe(201);
    },
    sendBatch: async (queue, messages) => void (await call(`${queue}/messages`, { messages }, 201)),
    async receive(queue, options = {}) {
      const { messages } = await call(`${queue}/receive`, options);
      return messages.map((m: Delivery & { leaseExpiresAt: string }) => ({
        ...m,
        leaseExpiresAt: new Date(m.leaseExpiresAt),
      }));
    },
    ack: (queue, receipts) => answer(`${queue}/ack`, { receipts }, 'acked'),
    nack: (queue, receipts, options) => answer(`${queue}/nack`, { receipts, ...options }, 'nacked'),
    extend: async (queue, receipts, leaseMs) =>
      new Date(await answer(`${queue}/extend`, { receipts, leaseMs }, 'leaseExpiresAt')),
    stats: (queue) => statsOf(broker, queue),
    close: () => broker.close(),
  };
}

describeDelivery('REST broker', restBroker);
