import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailroomEntities, MailroomClient, OnMessage, type MailroomOptions, type MessageContext } from '@mailroom/core';
// Not part of the public API: the helper every singleton chore (reaper, janitor, relay) runs through.
import { asSingleton, CHORE_LOCKS } from '../../libs/mailroom/src/database/singleton';
import { setPreparedStatements } from '../../libs/mailroom/src/database/transaction';
// Internal: the node's LISTEN connection, to see a notification arrive rather than infer it from timing.
import { servicesOf } from '../../libs/mailroom/src/services/mailroom.services';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { watchLongPolls } from '../support/long-polls';
import { startNestApp } from '../support/nest';
import { pgbouncerBinary, startPgbouncer, type Pgbouncer } from '../support/pgbouncer';
import { until } from '../support/wait';
import { startWebhook } from '../support/webhook';

/**
 * Issue 18: Mailroom works behind PgBouncer 1.18 in transaction pooling mode, which keeps
 * no session state between transactions: no named prepared statements
 * (`preparedStatements: false`), and LISTEN on a direct connection (`directConnection`).
 * Wake-ups are proven, not polled for: every client here polls once a minute, so a message
 * that arrives within the test's deadline was announced over the direct LISTEN connection.
 * Skipped only outside CI on a machine without pgbouncer (`.ci/run` installs it).
 */
const binary = pgbouncerBinary();
const inCi = Boolean(process.env.CI);
const NO_POLLING = { pollIntervalMs: 60_000, reaperIntervalMs: 100 };

let db: TestDatabase;
let bouncer: Pgbouncer;
const pooled: DataSource[] = [];

/** A DataSource whose every connection goes through PgBouncer. */
async function pooledDataSource(): Promise<DataSource> {
  const ds = new DataSource({ type: 'postgres', url: bouncer.url, entities: mailroomEntities, extra: { max: 12 } });
  await ds.initialize();
  pooled.push(ds);
  return ds;
}

const behindPgbouncer = (): MailroomOptions => ({ ...NO_POLLING, preparedStatements: false, directConnection: db.url });

/** Set once `client`'s LISTEN connection hears `event` (e.g. "queue:3", "outbox:hook"). */
function heard(client: MailroomClient, event: string): { yes: boolean } {
  const flag = { yes: false };
  servicesOf(client).wakeups.once(event, () => (flag.yes = true));
  return flag;
}

/** Server connections PgBouncer holds for the test database: more than one means transactions moved. */
async function serverConnections(): Promise<number> {
  const admin = new DataSource({ type: 'postgres', url: db.url });
  await admin.initialize();
  const [{ n }] = await admin.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = ''`,
  );
  await admin.destroy();
  return n;
}

beforeAll(async () => {
  if (!binary && inCi) throw new Error('pgbouncer is not installed: .ci/run installs it with apt');
  if (!binary) return;
  db = await createTestDatabase();
  bouncer = await startPgbouncer(db.url, binary);
  await db.dataSource.query(`CREATE TABLE effect (message_id uuid NOT NULL, n int NOT NULL)`);
  await db.dataSource.query(`CREATE TABLE chore_run (node int NOT NULL, started timestamptz, ended timestamptz)`);
});
afterAll(async () => {
  await Promise.all(pooled.map((ds) => ds.destroy()));
  await bouncer?.stop();
  await db?.drop();
});

describe.skipIf(!binary && !inCi)('behind PgBouncer in transaction mode', () => {
  /** 200 sends, each in a transaction of its own: a dozen client connections over 8 server connections. */
  const concurrentSends = (client: MailroomClient, ds: DataSource, queue: string) =>
    Promise.allSettled(
      Array.from({ length: 200 }, (_, n) => ds.transaction((manager) => client.send(queue, { n }, { manager }))),
    );

  it('fails with named prepared statements: why the option exists', async () => {
    const ds = await pooledDataSource();
    const client = await startClient(ds, { ...NO_POLLING, directConnection: db.url });
    try {
      await client.createQueue('named');
      const outcomes = await concurrentSends(client, ds, 'named');
      const errors = outcomes.filter((o) => o.status === 'rejected').map((o) => String(o.reason));
      console.log(
        `named prepared statements through PgBouncer: ${errors.length} of 200 sends failed, e.g. ${errors[0]}`,
      );
      expect(errors.some((e) => /prepared statement "mailroom_\d+" (already exists|does not exist)/.test(e))).toBe(
        true,
      );
    } finally {
      await client.close();
    }
  });

  it('sends, receives and acks with unnamed statements, over many server connections', async () => {
    const ds = await pooledDataSource();
    const client = await startClient(ds, behindPgbouncer());
    await client.createQueue('plain');
    const outcomes = await concurrentSends(client, ds, 'plain');
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const sent = outcomes.map((o) => (o as PromiseFulfilledResult<{ id: string }>).value);
    const received = new Set<string>();
    await until(async () => {
      const batch = await client.receive('plain', { max: 50 });
      batch.forEach((m) => received.add(m.id));
      if (batch.length > 0)
        expect(
          (
            await client.ack(
              'plain',
              batch.map((m) => m.receipt),
            )
          ).acked,
        ).toBe(batch.length);
      return received.size === sent.length;
    }, 30_000);
    expect([...received].sort()).toEqual(sent.map((s) => s.id).sort());
    expect((await client.getQueue('plain')).stats).toMatchObject({ available: 0, inFlight: 0 });
    expect(await serverConnections()).toBeGreaterThan(1);
    await client.close();
  });

  // Through PgBouncer a LISTEN lands on a server connection that goes back to the pool: its
  // notifications reach whichever client holds that connection next, if any, not the listener.
  it('wakes a waiting receive over the direct LISTEN connection', async () => {
    const longPolls = watchLongPolls();
    const consumer = await startClient(await pooledDataSource(), behindPgbouncer());
    const producer = await startClient(await pooledDataSource(), behindPgbouncer());
    try {
      await producer.createQueue('woken');
      const [{ id }] = await db.dataSource.query(`SELECT id FROM mailroom_queue WHERE name = 'woken'`);
      const woken = heard(consumer, `queue:${id}`);
      const receiving = consumer.receive('woken', { waitMs: 15_000 });
      await until(() => longPolls.waiting('woken') > 0);
      await producer.send('woken', 'wake up');
      await until(() => woken.yes, 20_000);
      expect((await receiving).map((m) => m.body)).toEqual(['wake up']);
    } finally {
      longPolls.stop();
      await consumer.close();
      await producer.close();
    }
  });

  it('runs @OnMessage consumers, and exactly-once handlers once per message', async () => {
    const seen: string[] = [];
    @Injectable()
    class Handlers {
      @OnMessage('pushed', { consumer: 'push' })
      async push(_body: unknown, ctx: MessageContext) {
        seen.push(ctx.id);
      }

      @OnMessage('effects', { mode: 'exactly-once', consumer: 'once', concurrency: 4 })
      async once(body: { n: number }, ctx: MessageContext) {
        await ctx.manager!.query(`INSERT INTO effect (message_id, n) VALUES ($1, $2)`, [ctx.id, body.n]);
      }
    }
    const app = await startNestApp(bouncer.url, [Handlers], behindPgbouncer());
    try {
      const client = app.get(MailroomClient);
      const pushed = await Promise.all(Array.from({ length: 20 }, (_, n) => client.send('pushed', { n })));
      await until(() => pushed.every(({ id }) => seen.includes(id)), 60_000);

      const ids = await Promise.all(Array.from({ length: 50 }, (_, n) => client.send('effects', { n })));
      await until(async () => {
        const { stats } = await client.getQueue('effects');
        return stats.available + stats.inFlight + stats.delayed === 0;
      }, 30_000);
      const effects = await db.dataSource.query(`SELECT message_id, count(*)::int AS n FROM effect GROUP BY 1`);
      expect(effects).toHaveLength(ids.length);
      expect(effects.every((e: { n: number }) => e.n === 1)).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('relays the outbox, woken by the commit', async () => {
    const hook = await startWebhook();
    const ds = await pooledDataSource();
    const client = await startClient(ds, {
      ...behindPgbouncer(),
      outbox: { destinations: { hook: { url: hook.url } }, pollIntervalMs: 60_000 },
    });
    const outbox = client.outbox('hook');
    try {
      const woken = heard(client, 'outbox:hook');
      const ids: string[] = [];
      // Two rounds: by the second the relay has emptied the outbox and waits a minute unless woken.
      for (let round = 0; round < 2; round += 1) {
        await ds.transaction(async (manager) => {
          for (let n = 0; n < 5; n += 1) ids.push((await outbox.emit('thing.done', { n }, { manager, key: 'k' })).id);
        });
        await until(() => hook.received.length === ids.length, 20_000);
      }
      expect(hook.received.map((h) => h.id)).toEqual(ids);
      expect(woken.yes).toBe(true);
    } finally {
      await client.close();
      await hook.close();
    }
  });

  it('runs singleton chores on one node at a time (transaction-scoped locks), and the reaper returns expired leases', async () => {
    const nodes = await Promise.all([pooledDataSource(), pooledDataSource()]);
    // No client has started on these yet, and the chores run before one does: as a client
    // started with preparedStatements: false would, send their statements unnamed.
    for (const node of nodes) setPreparedStatements(node, false);
    const run = (node: number) =>
      asSingleton(nodes[node], CHORE_LOCKS.janitor, async (tx) => {
        await tx.query(`INSERT INTO chore_run VALUES ($1, clock_timestamp(), NULL)`, [node]);
        await tx.query(`SELECT pg_sleep(0.02)`);
        await tx.query(`UPDATE chore_run SET ended = clock_timestamp() WHERE node = $1 AND ended IS NULL`, [node]);
      });
    const ran = await Promise.all(
      nodes.map(async (_, node) => {
        let mine = 0;
        for (let round = 0; round < 10; round += 1) if (await run(node)) mine += 1;
        return mine;
      }),
    );
    expect(ran[0] + ran[1]).toBeGreaterThanOrEqual(1);
    const overlaps = await db.dataSource.query(
      `SELECT 1 FROM chore_run a JOIN chore_run b ON (a.node, a.started) < (b.node, b.started)
          AND a.started < b.ended AND b.started < a.ended`,
    );
    expect(overlaps).toEqual([]);
    // A session-level lock would outlive the transaction on a server connection PgBouncer
    // hands to anyone: the chore would stay locked, or be run by whoever lands there.
    const held = await db.dataSource.query(
      `SELECT 1 FROM pg_locks JOIN pg_database d ON d.oid = pg_locks.database
        WHERE locktype = 'advisory' AND objid = $1 AND objsubid = 1 AND d.datname = current_database()`,
      [CHORE_LOCKS.janitor],
    );
    expect(held).toEqual([]);

    const client = await startClient(nodes[0], behindPgbouncer());
    await client.createQueue('reaped', { leaseMs: 200 });
    const { id } = await client.send('reaped', 'abandoned');
    const [first] = await client.receive('reaped', { max: 1 });
    expect(first.id).toBe(id);
    let again: { id: string; deliveryCount: number } | undefined;
    await until(async () => {
      [again] = await client.receive('reaped', { max: 1 });
      return again !== undefined;
    }, 20_000);
    expect(again).toMatchObject({ id, deliveryCount: 2 });
    await client.close();
  });

  // PgBouncer gives its clients keys of its own: pg_cancel_backend(that "pid") would miss, or hit
  // another session. The protocol's cancel request goes through PgBouncer to the right backend.
  it('cancels the statement of a timed-out exactly-once handler through PgBouncer', async () => {
    @Injectable()
    class StuckInSql {
      @OnMessage('stuck', {
        mode: 'exactly-once',
        consumer: 'stuck',
        timeoutMs: 300,
        queueOptions: { maxDeliveries: 1 },
      })
      async handle(_body: unknown, ctx: MessageContext) {
        await ctx.manager!.query(`INSERT INTO effect (message_id, n) VALUES ($1, -1)`, [ctx.id]);
        await ctx.manager!.query(`SELECT pg_sleep(3600)`);
      }
    }
    const app = await startNestApp(bouncer.url, [StuckInSql], behindPgbouncer());
    try {
      const client = app.get(MailroomClient);
      await client.send('stuck', 'x');
      await until(async () => (await client.countDeadLetters('stuck')) === 1, 30_000);
      const sleeping = `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND query LIKE '%pg_sleep(3600)%' AND pid <> pg_backend_pid()`;
      await until(async () => (await db.dataSource.query(sleeping))[0].n === 0, 20_000);
      expect(await db.dataSource.query(`SELECT 1 FROM effect WHERE n = -1`)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
