import { describe, expect, it } from 'vitest';
import { TAKE } from '@mailroom/core/delivery/claim.sql';
import { databaseWithClient } from '../support/database';
import { until } from '../support/wait';

const env = databaseWithClient();

type PlanNode = {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
};

/** Rows of mailroom_message that the plan's scans read and threw away (not deliverable), over all loops. */
function messagesPassedOver(node: PlanNode): number {
  const own =
    node['Relation Name'] === 'mailroom_message'
      ? (node['Rows Removed by Filter'] ?? 0) * (node['Actual Loops'] ?? 1)
      : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + messagesPassedOver(child), 0);
}

/** Runs the claim statement (TAKE: the same walks as every claim) under EXPLAIN ANALYZE, rolled back. */
async function claimPlan(queueId: number, max: number, planMode: 'force_generic_plan' | 'force_custom_plan') {
  const runner = env.db.dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    await runner.query(`SET LOCAL plan_cache_mode = ${planMode}`);
    await runner.query(`PREPARE take_probe(int, int) AS ${TAKE.text}`);
    const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE take_probe(${queueId}, ${max})`);
    const plan = (row['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
    return { taken: plan['Actual Rows'] ?? 0, passedOver: messagesPassedOver(plan) };
  } finally {
    await runner.rollbackTransaction().catch(() => undefined);
    await runner.query('DEALLOCATE take_probe').catch(() => undefined);
    await runner.release();
  }
}

async function queueId(name: string): Promise<number> {
  const [row] = await env.db.dataSource.query(`SELECT id FROM mailroom_queue WHERE name = $1`, [name]);
  return row.id;
}

describe('delayed messages and claims', () => {
  it('a claim reads what it takes, not the delayed messages waiting ahead of it', async () => {
    await env.client.createQueue('many-timers');
    const hour = 3_600_000;
    for (let i = 0; i < 4; i++) {
      await env.client.sendBatch(
        'many-timers',
        Array.from({ length: 500 }, (_, j) => ({ body: { timer: i * 500 + j }, delayMs: hour })),
      );
    }
    await env.client.sendBatch('many-timers', [{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
    await env.db.dataSource.query('ANALYZE mailroom_message');
    const id = await queueId('many-timers');
    for (const mode of ['force_generic_plan', 'force_custom_plan'] as const) {
      const { taken, passedOver } = await claimPlan(id, 10, mode);
      expect(taken).toBe(3);
      // With one walk, a claim read all 2,000 timers waiting ahead of the three and threw them away.
      expect(passedOver).toBe(0);
    }
  });

  it('delivers due delayed messages and ready ones together, in sequence order', async () => {
    await env.client.createQueue('merged');
    await env.client.send('merged', 'first, delayed', { delayMs: 1_500 });
    await env.client.send('merged', 'second');
    await env.client.send('merged', 'third, delayed', { delayMs: 1_500 });
    expect((await env.client.receive('merged', { max: 10, leaseMs: 60_000 })).map((m) => m.body)).toEqual(['second']);
    await until(async () => {
      const [row] = await env.db.dataSource.query(
        `SELECT count(*)::int AS due FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
          WHERE q.name = 'merged' AND m.lease_id IS NULL AND m.visible_at <= now()`,
      );
      return row.due === 2;
    });
    await env.client.send('merged', 'fourth');
    const got = await env.client.receive('merged', { max: 10 });
    expect(got.map((m) => m.body)).toEqual(['first, delayed', 'third, delayed', 'fourth']);
  });

  it('a message put back with a retry delay is claimed from the delayed walk once due', async () => {
    await env.client.createQueue('retried', { retry: { strategy: 'fixed', delayMs: 200, maxDelayMs: 200, jitter: 0 } });
    await env.client.send('retried', 'again');
    const [first] = await env.client.receive('retried', { leaseMs: 60_000 });
    await env.client.nack('retried', [first.receipt]);
    const [again] = await env.client.receive('retried', { waitMs: 5_000 });
    expect(again).toMatchObject({ body: 'again', deliveryCount: 2 });
  });

  it('keeps a grouped queue in order when the next of a group is a delayed message falling due', async () => {
    await env.client.createQueue('grouped-delays', { ordering: 'grouped' });
    await env.client.send('grouped-delays', 'first', { groupKey: 'g' });
    await env.client.send('grouped-delays', 'second, delayed', { groupKey: 'g', delayMs: 300 });
    const [first] = await env.client.receive('grouped-delays', { leaseMs: 60_000 });
    expect(first.body).toBe('first');
    await until(async () => {
      const [row] = await env.db.dataSource.query(
        `SELECT count(*)::int AS due FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
          WHERE q.name = 'grouped-delays' AND m.lease_id IS NULL AND m.visible_at <= now()`,
      );
      return row.due === 1;
    });
    // Due, but the group's first is still in flight: the delayed walk keeps the group's order too.
    expect(await env.client.receive('grouped-delays', { max: 10 })).toEqual([]);
    await env.client.ack('grouped-delays', [first.receipt]);
    expect((await env.client.receive('grouped-delays', { max: 10 })).map((m) => m.body)).toEqual(['second, delayed']);
  });
});
