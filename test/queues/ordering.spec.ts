import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { createTestDatabase, startNodes, type TestDatabase } from '../support/database';
import { sleep } from '../support/wait';

let db: TestDatabase;
let nodes: MailroomClient[];

beforeAll(async () => {
  db = await createTestDatabase();
  nodes = await startNodes(db, 4);
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await db?.drop();
});

describe('grouped ordering', () => {
  it('keeps each group in order with one in flight per group, under 4 consumers', async () => {
    const groups = 8;
    const perGroup = 40;
    await nodes[0].createQueue('grouped', { ordering: 'grouped', leaseMs: 60_000 });
    const messages = [];
    for (let i = 0; i < perGroup; i += 1) {
      for (let g = 0; g < groups; g += 1) messages.push({ body: { g, i }, groupKey: `g${g}` });
    }
    await nodes[0].sendBatch('grouped', messages);
    const order = new Map<number, number[]>();
    const inFlight = new Set<number>();
    let overlap = false;
    await Promise.all(
      nodes.map(async (node, c) => {
        for (let idle = 0; idle < 3;) {
          const batch = await node.receive<{ g: number; i: number }>('grouped', { consumer: `c${c}`, max: 4 });
          if (batch.length === 0) {
            idle += 1;
            await sleep(20);
            continue;
          }
          idle = 0;
          for (const { body } of batch) {
            if (inFlight.has(body.g)) overlap = true;
            inFlight.add(body.g);
            order.set(body.g, [...(order.get(body.g) ?? []), body.i]);
          }
          await sleep(Math.random() * 5);
          for (const { body } of batch) inFlight.delete(body.g);
          await node.ack(
            'grouped',
            batch.map((m) => m.receipt),
          );
        }
      }),
    );
    expect(overlap).toBe(false);
    for (let g = 0; g < groups; g += 1) {
      expect(order.get(g)).toEqual(Array.from({ length: perGroup }, (_, i) => i));
    }
  });

  it('holds a group back while its earlier message waits for a retry', async () => {
    await nodes[0].createQueue('grouped-retry', { ordering: 'grouped' });
    await nodes[0].sendBatch('grouped-retry', [
      { body: 'a1', groupKey: 'a' },
      { body: 'a2', groupKey: 'a' },
      { body: 'b1', groupKey: 'b' },
    ]);
    const first = await nodes[0].receive('grouped-retry', { max: 10 });
    expect(first.map((m) => m.body)).toEqual(['a1', 'b1']);
    await nodes[0].nack('grouped-retry', [first[0].receipt], { delayMs: 300 });
    await nodes[0].ack('grouped-retry', [first[1].receipt]);
    expect(await nodes[1].receive('grouped-retry', { max: 10 })).toEqual([]);
    const retried = await nodes[1].receive('grouped-retry', { max: 10, waitMs: 3_000 });
    expect(retried.map((m) => m.body)).toEqual(['a1']);
  });
});

describe('exclusive ordering', () => {
  it('delivers to one consumer at a time and fails over when its lease expires', async () => {
    await nodes[0].createQueue('exclusive', { ordering: 'exclusive' });
    await nodes[0].sendBatch(
      'exclusive',
      [1, 2, 3, 4].map((n) => ({ body: n })),
    );
    const [first] = await nodes[0].receive<number>('exclusive', { consumer: 'primary', leaseMs: 400 });
    expect(first.body).toBe(1);
    expect(await nodes[1].receive('exclusive', { consumer: 'standby', max: 10 })).toEqual([]);
    // The primary stops heart-beating; once the reaper expires its lease the standby takes over from the start.
    const takeover = await nodes[1].receive<number>('exclusive', { consumer: 'standby', max: 10, waitMs: 5_000 });
    expect(takeover.map((m) => m.body)).toEqual([1, 2, 3, 4]);
    expect(takeover[0].deliveryCount).toBe(2);
    expect(await nodes[2].receive('exclusive', { consumer: 'third' })).toEqual([]);
    await nodes[1].ack(
      'exclusive',
      takeover.map((m) => m.receipt),
    );
  });

  it('hands over at once when the holder releases gracefully', async () => {
    await nodes[0].createQueue('exclusive-release', { ordering: 'exclusive' });
    await nodes[0].sendBatch('exclusive-release', [{ body: 1 }, { body: 2 }]);
    await nodes[0].receive('exclusive-release', { consumer: 'holder' });
    await nodes[0].release('exclusive-release', 'holder');
    const next = await nodes[1].receive<number>('exclusive-release', { consumer: 'next', max: 10 });
    expect(next.map((m) => m.body)).toEqual([1, 2]);
  });
});
