import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { servicesOf } from '@mailroom/core/services/mailroom.services';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { until } from '../support/wait';

let db: TestDatabase;
let client: MailroomClient;
beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

const sessions = () => servicesOf(client).sessions.size;

describe('pull sessions on a node', () => {
  it('are forgotten once idle: one-off consumer names do not pile up; one holding a lease stays', async () => {
    await client.createQueue('one-off');
    await client.send('one-off', { n: 1 });
    const [held] = await client.receive('one-off', { consumer: 'holder', leaseMs: 1_000 });
    expect(held).toBeDefined();
    for (let i = 0; i < 50; i++) await client.receive('one-off', { consumer: `poller-${i}` });
    expect(sessions()).toBe(1);

    // Once the holder's lease has passed, the next new session sweeps it. The new sessions
    // receive from an empty queue: one on 'one-off' could claim the message the reaper
    // returned and hold a lease of its own, so the count would never reach 0.
    await client.createQueue('sweeper');
    await until(async () => {
      await client.receive('sweeper', { consumer: `late-${Date.now()}` });
      return sessions() === 0;
    });
  });
});
