import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, OnMessage, type MessageContext } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

/**
 * How an exactly-once consumer at its defaults (transactionBatch 50) divides the messages it
 * holds between transactions (PushConsumer.dispatch): whole batches while the queue holds
 * more than it does, spread over the free slots otherwise. Each transaction has its own
 * EntityManager, so the managers the handler sees count the transactions.
 */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** Runs `count` messages, sent while the queue is paused, through a consumer of `concurrency`; the batches it made. */
async function batchesOf(queue: string, count: number, concurrency: number): Promise<number[]> {
  const batches = new Map<EntityManager, number>();
  let handled = 0;
  @Injectable()
  class Counting {
    @OnMessage(queue, { mode: 'exactly-once', consumer: 'counting', concurrency })
    handle(_body: unknown, ctx: MessageContext) {
      batches.set(ctx.manager!, (batches.get(ctx.manager!) ?? 0) + 1);
      handled += 1;
    }
  }
  const app = await startNestApp(db.url, [Counting]);
  try {
    const client = app.get(MailroomClient);
    await client.createQueue(queue);
    await client.pauseQueue(queue);
    for (let sent = 0; sent < count; sent += 1_000) {
      const size = Math.min(1_000, count - sent);
      await client.sendBatch(
        queue,
        Array.from({ length: size }, (_, n) => ({ body: { n: sent + n } })),
      );
    }
    await client.resumeQueue(queue);
    await until(async () => {
      const { stats } = await client.getQueue(queue);
      return stats.available + stats.inFlight === 0;
    });
    expect(handled).toBe(count); // each once: no transaction rolled back
    return [...batches.values()];
  } finally {
    await app.close();
  }
}

describe('exactly-once transactions at default options', () => {
  it('carry whole batches while the queue holds more than the consumer does', async () => {
    const batches = await batchesOf('backlog', 2_000, 10);
    // Spread over ten free slots, a claim of 100 makes batches of ~10–20 (~100 transactions).
    expect(batches.length).toBeLessThanOrEqual(60);
    expect(Math.max(...batches)).toBe(50);
  });

  it('spread a short burst over the free slots, so it runs side by side', async () => {
    const batches = await batchesOf('burst', 20, 4);
    expect(batches.sort()).toEqual([5, 5, 5, 5]);
  });
});
