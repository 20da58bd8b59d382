import { Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { MailroomClient, MailroomHealthIndicator, mailroomEntities, OnMessage } from '@mailroom/core';
import { createTestDatabase, waitUntilDrained, type TestDatabase } from '@mailroom/core/testing';
import { startNestApp } from '../support/nest';
import { sleep } from '../support/wait';

/** What @mailroom/core/testing and the health indicator give an app's own tests. */
describe('@mailroom/core/testing', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'));
  });
  afterAll(() => db?.drop());

  it('createTestDatabase: a fresh database with Mailroom’s tables; drop() removes it', async () => {
    const other = await createTestDatabase(inject('databaseUrl'));
    const name = new URL(other.url).pathname.slice(1);
    const server = new Client({ connectionString: inject('databaseUrl') });
    await server.connect();
    try {
      const exists = async () => (await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount;
      const tables = new Client({ connectionString: other.url });
      await tables.connect();
      expect((await tables.query(`SELECT to_regclass('mailroom_queue') AS t`)).rows[0].t).toBe('mailroom_queue');
      await tables.end();
      expect(await exists()).toBe(1);
      await other.drop();
      expect(await exists()).toBe(0);
    } finally {
      await server.end();
    }
  });

  it('waitUntilDrained resolves once every message sent was handled and acked', async () => {
    const handled: number[] = [];
    @Injectable()
    class Worker {
      @OnMessage('work', { concurrency: 2 })
      async handle(body: number) {
        await sleep(5); // some work, so the queue is not drained at once
        handled.push(body);
      }
    }
    const app = await startNestApp(db.url, [Worker]);
    const client = app.get(MailroomClient);
    await client.sendBatch(
      'work',
      Array.from({ length: 20 }, (_, i) => ({ body: i })),
    );
    await waitUntilDrained(client, 'work');
    expect(handled).toHaveLength(20);
    expect((await client.getQueue('work')).stats).toMatchObject({ available: 0, inFlight: 0, delayed: 0 });
    await app.close();
  });

  it('MailroomHealthIndicator is up while Mailroom’s tables answer, down when they do not', async () => {
    const app = await startNestApp(db.url, []);
    const health = await app.get(MailroomHealthIndicator).isHealthy();
    await app.close();
    expect(health).toMatchObject({ mailroom: { status: 'up', queues: expect.any(Number) } });

    const dataSource = await new DataSource({ type: 'postgres', url: db.url, entities: mailroomEntities }).initialize();
    const indicator = new MailroomHealthIndicator(new MailroomClient(dataSource, {}));
    await dataSource.destroy();
    expect(await indicator.isHealthy('queues')).toMatchObject({ queues: { status: 'down' } });
  });
});
