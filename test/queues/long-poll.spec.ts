import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { sleep } from '../support/wait';

let db: TestDatabase;
let consumer: MailroomClient;
let producer: MailroomClient;

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
});

describe('long-poll', () => {
  it('wakes on a send from another node, not on a poll', async () => {
    const started = Date.now();
    const receiving = consumer.receive('waiting', { waitMs: 15_000 });
    await sleep(300);
    await producer.send('waiting', 'wake up');
    const got = await receiving;
    expect(got.map((m) => m.body)).toEqual(['wake up']);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('wakes when a paused queue resumes', async () => {
    await producer.pauseQueue('waiting');
    await producer.send('waiting', 'held');
    const started = Date.now();
    const receiving = consumer.receive('waiting', { waitMs: 15_000 });
    await sleep(300);
    await producer.resumeQueue('waiting');
    expect((await receiving).map((m) => m.body)).toEqual(['held']);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('returns empty at waitMs, and at once when aborted', async () => {
    const started = Date.now();
    expect(await consumer.receive('waiting', { waitMs: 300 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const aborted = Date.now();
    expect(await consumer.receive('waiting', { waitMs: 15_000, signal: abort.signal })).toEqual([]);
    expect(Date.now() - aborted).toBeLessThan(1_000);
  });

  it('re-listens after its LISTEN connection is killed, and wakes again', async () => {
    await db.dataSource.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mailroom-listen' AND datname = current_database()`,
    );
    await sleep(500);
    const started = Date.now();
    const receiving = consumer.receive('waiting', { waitMs: 15_000 });
    await sleep(300);
    await producer.send('waiting', 'after reconnect');
    expect((await receiving).map((m) => m.body)).toEqual(['after reconnect']);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
