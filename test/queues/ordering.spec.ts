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
            await sleep(20); // an idle consumer's back-off between empty polls, not synchronisation
            continue;
          }
          idle = 0;
          for (const { body } of batch) {
            if (inFlight.has(body.g)) overlap = true;
            inFlight.add(body.g);
            order.set(body.g, [...(order.get(body.g) ?? []), body.i]);
          }
          await sleep(Math.random() * 5); // the handling time, varied so consumers interleave
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
});
