import { describe, expect, it, vi } from 'vitest';
import type { MailroomServices } from '../services/mailroom.services';
import type { ConsumerSpec } from './handler.options';
import { PushConsumer } from './push.consumer';

describe('a push consumer whose claims fail', () => {
  it('stops at once instead of waiting out the back-off before its next claim', async () => {
    vi.useFakeTimers();
    try {
      let claims = 0;
      const services = {
        delivery: {
          claim: async () => {
            claims += 1;
            throw new Error('the database is down');
          },
          ack: async () => ({ acked: 0 }),
          release: async () => undefined,
          retireLease: () => undefined,
        },
      } as unknown as MailroomServices;
      const spec: ConsumerSpec = {
        consumer: 'c',
        concurrency: 1,
        prefetch: 1,
        prefetchMax: 1,
        ackMode: 'manual',
        exactlyOnce: false,
        transactionBatch: 1,
        shutdownTimeoutMs: 0,
        timeoutMs: 1_000,
      };
      const consumer = new PushConsumer(services, 'q', spec, () => undefined);
      (consumer as unknown as { logger: { error: () => void } }).logger.error = () => undefined;
      consumer.start(30_000);
      // Runs what is ready without moving the clock (the back-off is 1 s away).
      const settle = async () => {
        for (let i = 0; i < 20; i += 1) await vi.advanceTimersByTimeAsync(0);
      };
      await settle();
      expect(claims).toBe(1); // failed, and now backing off
      let stopped = false;
      const stopping = consumer.stop().then(() => {
        stopped = true;
      });
      await settle();
      expect(stopped).toBe(true);
      expect(claims).toBe(1);
      await vi.advanceTimersByTimeAsync(2_000);
      await stopping;
    } finally {
      vi.useRealTimers();
    }
  });
});
