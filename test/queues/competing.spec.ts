import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { createTestDatabase, startNodes, type TestDatabase } from '../support/database';

let db: TestDatabase;
let nodes: MailroomClient[];

beforeAll(async () => {
  db = await createTestDatabase();
  // Separate pools, so the consumers' transactions really overlap.
  nodes = await startNodes(db, 4);
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await db?.drop();
});

describe('competing consumers', () => {
  it('delivers each of 10,000 messages to exactly one of 4 consumers while all ack', async () => {
    const total = 10_000;
    await nodes[0].createQueue('work', { leaseMs: 60_000 });
    for (let i = 0; i < total; i += 1000) {
      await nodes[0].sendBatch(
        'work',
        Array.from({ length: 1000 }, (_, j) => ({ body: i + j })),
      );
    }
    const seen = new Map<number, number>();
    const perConsumer = await Promise.all(
      nodes.map(async (node, c) => {
        let mine = 0;
        for (;;) {
          const batch = await node.receive<number>('work', { consumer: `c${c}`, max: 50 });
          if (batch.length === 0) return mine;
          for (const m of batch) seen.set(m.body, (seen.get(m.body) ?? 0) + 1);
          await node.ack(
            'work',
            batch.map((m) => m.receipt),
          );
          mine += batch.length;
        }
      }),
    );
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(perConsumer.reduce((a, b) => a + b, 0)).toBe(total);
    expect(perConsumer.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect((await nodes[0].getQueue('work')).stats).toMatchObject({
      available: 0,
      inFlight: 0,
      delayed: 0,
      exhausted: 0,
    });
  });

  it('delivers each of 2,000 messages, a third of them delayed, once, as the delayed ones fall due', async () => {
    const total = 2_000;
    await nodes[0].createQueue('mixed', { leaseMs: 60_000 });
    // Ready and delayed (up to 1 s) messages interleaved: claims merge both walks (delivery/claim.sql.ts).
    for (let i = 0; i < total; i += 500) {
      await nodes[0].sendBatch(
        'mixed',
        Array.from({ length: 500 }, (_, j) => ({ body: i + j, delayMs: (i + j) % 3 === 0 ? ((i + j) % 1000) + 1 : 0 })),
      );
    }
    const seen = new Map<number, number>();
    await Promise.all(
      nodes.map(async (node, c) => {
        while (seen.size < total) {
          const batch = await node.receive<number>('mixed', { consumer: `m${c}`, max: 50, waitMs: 200 });
          for (const m of batch) seen.set(m.body, (seen.get(m.body) ?? 0) + 1);
          if (batch.length > 0)
            await node.ack(
              'mixed',
              batch.map((m) => m.receipt),
            );
        }
      }),
    );
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect((await nodes[0].getQueue('mixed')).stats).toMatchObject({ available: 0, inFlight: 0, delayed: 0 });
  });
});
