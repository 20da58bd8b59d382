import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import type { DataSource } from 'typeorm';
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

/** Counts the claim statements sent on `pool`'s own connections (each walks the queue: claim.sql.ts). */
function countClaims(pool: DataSource): { count: number } {
  const counter = { count: 0 };
  const pg = (pool.driver as unknown as { master: { query: (...args: unknown[]) => unknown } }).master;
  const query = pg.query.bind(pg);
  pg.query = (config: unknown, ...rest: unknown[]) => {
    if (String((config as { text?: string })?.text ?? config).includes('FOR UPDATE OF m SKIP LOCKED'))
      counter.count += 1;
    return query(config, ...rest);
  };
  return counter;
}

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
  it('waits without claiming right after a claim that came back short, and loses no wake-up doing so', async () => {
    await producer.createQueue('quiet');
    const pool = await db.newDataSource();
    const watcher = await startClient(pool, { pollIntervalMs: 60_000 });
    const claims = countClaims(pool);
    // Woken by the send, a claim asks for ten and brings one: nothing else was deliverable.
    const first = watcher.receive('quiet', { max: 10, waitMs: 15_000 });
    await waiting('quiet');
    await producer.send('quiet', 'first');
    const [m] = await first;
    expect(m.body).toBe('first');
    await watcher.ack('quiet', [m.receipt]);
    claims.count = 0;
    const receiving = watcher.receive('quiet', { waitMs: 15_000 });
    await waiting('quiet');
    // Nothing was sent and nothing woke the queue since that claim: the long poll waits at once.
    expect(claims.count).toBe(0);
    await producer.send('quiet', 'woken');
    const woken = await receiving;
    expect(woken.map((m) => m.body)).toEqual(['woken']);
    await watcher.ack('quiet', [woken[0].receipt]);
    // A send between a short claim and the long poll, its notification arriving before or
    // after the poll starts: the poll returns it. (That the mark moves with every
    // notification, so the poll claims at once, is announce.spec.ts's 'wake-up marks'.)
    for (let i = 0; i < 20; i += 1) {
      expect(await watcher.receive('quiet', { max: 10, waitMs: 0 })).toEqual([]);
      await producer.send('quiet', i);
      const [got] = await watcher.receive<number>('quiet', { waitMs: 15_000 });
      expect(got?.body).toBe(i);
      await watcher.ack('quiet', [got.receipt]);
    }
    await watcher.close();
    await pool.destroy();
  });

  it('wakes ten receives on one consumer name with one claim that delivers, and loses no wake-up', async () => {
    await producer.createQueue('herd');
    const pool = await db.newDataSource(); // its own connections: the claims counted are the consumer's
    const watcher = await startClient(pool, { pollIntervalMs: 60_000 });
    const claims = countClaims(pool);
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
    claims.count = 0;
    // Each message is taken by one of the waiting loops; the claims counted show how many woke.
    for (let i = 0; i < 5; i += 1) {
      await producer.send('herd', i);
      await until(() => got.length === i + 1);
    }
    // Per message: the claim that delivers it, one that finds the queue empty, and the
    // receiving loop's next receive; without coalescing, each of the ten woken receives claims.
    expect(claims.count).toBeLessThanOrEqual(5 * 4);
    await Promise.all(loops);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    await watcher.close();
    await pool.destroy();
  });
});
