import { LeaseLostError, type MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient } from '../support/database';
import { StaleReceipts, type DeliveryAdapter } from './adapter';
import { describeDelivery } from './delivery.behaviour';

/** A lease-lost refusal, in the suite's terms; anything else is left as it was. */
async function settled<T>(operation: Promise<T>): Promise<T> {
  return operation.catch((error: unknown) => {
    throw error instanceof LeaseLostError ? new StaleReceipts(error.receipts) : error;
  });
}

async function libraryClient(): Promise<DeliveryAdapter> {
  const db = await createTestDatabase();
  const client: MailroomClient = await startClient(db.dataSource);
  return {
    db: db.dataSource,
    createQueue: async (name, options) => void (await client.createQueue(name, options)),
    sendBatch: async (queue, messages) => void (await client.sendBatch(queue, messages)),
    receive: (queue, options) => settled(client.receive(queue, options)) as never,
    ack: async (queue, receipts) => (await settled(client.ack(queue, receipts))).acked,
    nack: async (queue, receipts, options) => (await settled(client.nack(queue, receipts, options))).nacked,
    extend: async (queue, receipts, leaseMs) => (await settled(client.extend(queue, receipts, leaseMs))).leaseExpiresAt,
    release: (queue, consumer) => client.release(queue, consumer),
    stats: async (queue) => (await client.getQueue(queue)).stats,
    async close() {
      await client.close();
      await db.drop();
    },
  };
}

describeDelivery('library client', libraryClient, { release: true });
