import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { createTestDatabase, startNodes, type TestDatabase } from '../support/database';

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

describe('actor store', () => {
  it('applies concurrent events from many nodes one at a time: every change lands, none is lost', async () => {
    await nodes[0].createQueue('contended');
    const leaseValues = Array.from({ length: 24 }, (_, i) => 1_000 + i);
    await Promise.all(leaseValues.map((leaseMs, i) => nodes[i % 4].createQueue('contended', { leaseMs })));
    const [row] = await db.dataSource.query(
      `SELECT version, lease_ms, snapshot -> 'context' -> 'options' ->> 'leaseMs' AS snapshot_lease FROM mailroom_queue WHERE name = 'contended'`,
    );
    // Created at version 1; each of the 24 reconfigurations is its own transition.
    expect(row.version).toBe(1 + leaseValues.length);
    // The projection read by the hot path always matches the snapshot it came from.
    expect(String(row.lease_ms)).toBe(row.snapshot_lease);
  });

  it('keeps state and snapshot in step under racing pause, resume and reconfigure', async () => {
    await nodes[0].createQueue('racing');
    const events = Array.from({ length: 30 }, (_, i) =>
      i % 3 === 0
        ? nodes[i % 4].pauseQueue('racing')
        : i % 3 === 1
          ? nodes[i % 4].resumeQueue('racing')
          : nodes[i % 4].createQueue('racing', { maxDeliveries: 2 + i }),
    );
    await Promise.all(events);
    const rows = await db.dataSource.query(
      `SELECT state, snapshot ->> 'value' AS value, max_deliveries,
              (snapshot -> 'context' -> 'options' ->> 'maxDeliveries')::int AS snapshot_max
         FROM mailroom_queue WHERE name = 'racing'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].state).toBe(rows[0].value);
    expect(rows[0].max_deliveries).toBe(rows[0].snapshot_max);
  });
});
