import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { resolveConsumerSpec } from '@mailroom/core/handlers/handler.options';
import { PushConsumer } from '@mailroom/core/handlers/push.consumer';
import { servicesOf } from '@mailroom/core/services/mailroom.services';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { until } from '../support/wait';

/**
 * With the prefetch window full, a push consumer's claim loop waits for a free slot (up
 * to its long poll). stop() must wake that wait: with the long poll stretched to ten
 * minutes, a stop that waited it out would never resolve within the test.
 */
let db: TestDatabase;
let client: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

describe('stop() with the prefetch window full', () => {
  it('resolves without waiting out the wait for a free slot', async () => {
    const queue = 'full-window';
    await client.createQueue(queue);
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const handler = async () => {
      started += 1;
      await blocked;
    };
    const spec = resolveConsumerSpec({ concurrency: 1, prefetch: 1, shutdownTimeoutMs: 0 }, 'Test.fullWindow', false);
    const consumer = new PushConsumer(servicesOf(client), queue, spec, handler, { longPollMs: 600_000 });
    consumer.start(30_000);
    await client.send(queue, 'holds the only slot');
    await until(() => started === 1);

    let stopped = false;
    const stopping = consumer.stop().then(() => (stopped = true));
    try {
      await until(() => stopped);
      // The running call met the shutdown timeout (0): its delivery failed, so it spent an attempt.
      const [row] = await db.dataSource.query(`SELECT attempts, lease_id FROM mailroom_message`);
      expect(row).toMatchObject({ attempts: 1, lease_id: null });
    } finally {
      release();
      await stopping;
    }
  });
});
