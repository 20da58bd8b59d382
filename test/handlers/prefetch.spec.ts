import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, OnMessage } from '@mailroom/core';
import { observe } from '../../libs/mailroom/src/observability/instruments';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** Sends `count` numbered messages to `queue` while it is paused, so they wait as one backlog. */
async function backlog(client: MailroomClient, queue: string, count: number): Promise<void> {
  await client.pauseQueue(queue);
  await client.sendBatch(
    queue,
    Array.from({ length: count }, (_, n) => ({ body: n })),
  );
  await client.resumeQueue(queue);
}

describe('adaptive prefetch (no `prefetch` given)', () => {
  it('claims more than `concurrency` at a time for fast handlers with a backlog, and never runs more than `concurrency` at once', async () => {
    const claimSizes: number[] = [];
    const detach = observe({ claimed: (queue, counts) => queue === 'adaptive' && claimSizes.push(counts.length) });
    const seen = new Set<number>();
    let running = 0;
    let peak = 0;
    @Injectable()
    class Fast {
      @OnMessage('adaptive', { concurrency: 3 })
      async handle(body: number) {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setImmediate(resolve)); // calls overlap, still fast
        seen.add(body);
        running -= 1;
      }
    }
    const app = await startNestApp(db.url, [Fast]);
    try {
      const client = app.get(MailroomClient);
      await backlog(client, 'adaptive', 1_500);
      await until(() => seen.size === 1_500, 30_000);
      await until(async () => (await client.getQueue('adaptive')).stats.inFlight === 0);
      expect(peak).toBeLessThanOrEqual(3);
      // With a window fixed at concurrency, no claim could take more than 3.
      expect(Math.max(...claimSizes)).toBeGreaterThan(3);
      expect((await client.getQueue('adaptive')).stats).toMatchObject({ available: 0, inFlight: 0 });
    } finally {
      detach();
      await app.close();
    }
  });

  it('leaves work for a second consumer of the queue: one whose handlers are stuck holds a bounded window (ceiling, halving)', async () => {
    let handledA = 0;
    let handledB = 0;
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    @Injectable()
    class First {
      @OnMessage('fair', { consumer: 'fair', concurrency: 5 })
      async handle() {
        handledA += 1;
        // After a fast start (its window grew), A's handlers wait until B has done some work.
        if (handledA > 400) await gate;
      }
    }
    @Injectable()
    class Second {
      @OnMessage('fair', { consumer: 'fair', concurrency: 5 })
      handle() {
        handledB += 1;
        openGate();
      }
    }
    const a = await startNestApp(db.url, [First]);
    let b: Awaited<ReturnType<typeof startNestApp>> | undefined;
    try {
      const client = a.get(MailroomClient);
      await backlog(client, 'fair', 1_200);
      await until(() => handledA >= 405, 30_000);
      b = await startNestApp(db.url, [Second]);
      // A holds at most 200 (the adaptive ceiling; fewer once its window halves) of the 795 left.
      await until(() => handledB > 0, 20_000);
      await until(() => handledA + handledB >= 1_200, 30_000);
      await until(async () => {
        const { stats } = await client.getQueue('fair');
        return stats.available + stats.inFlight === 0;
      });
      expect(handledB).toBeGreaterThan(0);
    } finally {
      openGate();
      await b?.close();
      await a.close();
    }
  });
});
