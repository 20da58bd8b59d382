import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { watchLongPolls } from '../support/long-polls';
import { until } from '../support/wait';

let db: TestDatabase;
let consumer: MailroomClient;
let producer: MailroomClient;
const polls = watchLongPolls();

beforeAll(async () => {
  db = await createTestDatabase();
  // A poll so slow that only a NOTIFY can explain a prompt wake-up.
  consumer = await startClient(await db.newDataSource(), { pollIntervalMs: 60_000 });
  producer = await startClient(db.dataSource);
  await producer.createQueue('waiting');
});
afterAll(async () => {
  await consumer?.close();
  await producer?.close();
  await db?.drop();
  polls.stop();
});

const listeners = async (): Promise<number> =>
  (
    await db.dataSource.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'mailroom-listen' AND datname = current_database()`,
    )
  )[0].n;

/**
 * Until `count` receives of `queue` made their first, empty claim and wait: only a wake-up
 * can then deliver what is sent next (with a 60 s poll, a message sent before that claim
 * would be found by it and prove nothing).
 */
const waiting = (queue: string, count = 1) => until(() => polls.waiting(queue) >= count);

describe('long-poll', () => {
  // The consumer's poll (60 s) outlasts each receive's waitMs (15 s): a receive that returns the
  // message was woken by a notification, however long the machine took.
  it('wakes on a send from another node, not on a poll', async () => {
    const receiving = consumer.receive('waiting', { waitMs: 15_000 });
    await waiting('waiting');
    await producer.send('waiting', 'wake up');
    const got = await receiving;
    expect(got.map((m) => m.body)).toEqual(['wake up']);
  });

  it('wakes when a paused queue resumes', async () => {
    await producer.pauseQueue('waiting');
    await producer.send('waiting', 'held');
    const receiving = consumer.receive('waiting', { waitMs: 15_000 });
    await waiting('waiting');
    await producer.resumeQueue('waiting');
    expect((await receiving).map((m) => m.body)).toEqual(['held']);
  });

  it('returns empty at waitMs, and ends the wait when aborted: a later send stays for the next reader', async () => {
    const started = Date.now();
    expect(await consumer.receive('waiting', { waitMs: 300 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await producer.createQueue('aborting');
    const abort = new AbortController();
    const aborted = consumer.receive('aborting', { waitMs: 15_000, signal: abort.signal });
    await waiting('aborting');
    abort.abort();
    expect(await aborted).toEqual([]);
    await producer.send('aborting', 'not for the aborted receive');
    expect((await producer.getQueue('aborting')).stats).toMatchObject({ available: 1, inFlight: 0 });
  });

  it('re-listens after its LISTEN connection is killed, and wakes again', async () => {
    await db.dataSource.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mailroom-listen' AND datname = current_database()`,
    );
    await until(async () => (await listeners()) > 0);
    const receiving = consumer.receive('waiting', { waitMs: 15_000 });
    await waiting('waiting');
    await producer.send('waiting', 'after reconnect');
    expect((await receiving).map((m) => m.body)).toEqual(['after reconnect']);
  });
  it('wakes ten receives on one consumer name with one claim that delivers, and loses no wake-up', async () => {
    await producer.createQueue('herd');
    const pool = await db.newDataSource(); // its own connections: the claims counted are the consumer's
    const watcher = await startClient(pool, { pollIntervalMs: 60_000 });
    // Count the consumer's claim statements on its own pool.
    const pg = (pool.driver as unknown as { master: { query: (...args: unknown[]) => unknown } }).master;
    const query = pg.query.bind(pg);
    let claims = 0;
    pg.query = (config: unknown, ...rest: unknown[]) => {
      if (String((config as { text?: string })?.text ?? config).includes('mailroom_lease WHERE id = $1')) claims += 1;
      return query(config, ...rest);
    };
    const got: number[] = [];
    const loops = Array.from({ length: 10 }, async () => {
      while (got.length < 5) {
        const [m] = await watcher.receive<number>('herd', { consumer: 'herd', waitMs: 3_000 });
        if (m) {
          got.push(m.body);
          await watcher.ack('herd', [m.receipt]);
        }
      }
    });
    await waiting('herd', 10); // every loop waits
    claims = 0;
    // Each message is taken by one of the waiting loops; the claims counted show how many woke.
    for (let i = 0; i < 5; i += 1) {
      await producer.send('herd', i);
      await until(() => got.length === i + 1);
    }
    // Per message: the claim that delivers it, one that finds the queue empty, and the
    // receiving loop's next receive; without coalescing, each of the ten woken receives claims.
    expect(claims).toBeLessThanOrEqual(5 * 4);
    await Promise.all(loops);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    await watcher.close();
    await pool.destroy();
  });
});
