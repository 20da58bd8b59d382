import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/database/embedded-postgres';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { watchLongPolls } from '../support/long-polls';
import { sleep, until } from '../support/wait';

// A Postgres of this file's own, so crashing it disturbs no other test file.
let dir: string;
let server: EmbeddedServer;
let db: TestDatabase;
let client: MailroomClient;
const polls = watchLongPolls();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-crash-'));
  server = await startEmbeddedPostgres({ dataDir: dir });
  db = await createTestDatabase(server.url);
  client = await startClient(db.dataSource);
});
afterAll(async () => {
  polls.stop();
  await client?.close().catch(() => undefined);
  await db?.drop().catch(() => undefined);
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An immediate shutdown (SIGQUIT to the postmaster): no checkpoint, crash recovery on start. */
function crashPostgres(): void {
  const pid = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGQUIT');
}

describe('Postgres crash under load', () => {
  it('loses no acknowledged send and stores none twice, with producers retrying by id', async () => {
    await client.createQueue('durable');
    const acked = new Set<string>();
    let failures = 0;
    let stop = false;
    const producer = async () => {
      while (!stop) {
        const id = randomUUID();
        // Retry the same id until acknowledged: dedup makes the retry safe.
        for (;;) {
          try {
            await client.send('durable', { id }, { id });
            acked.add(id);
            break;
          } catch {
            failures += 1;
            await sleep(50); // a client's back-off before it retries, not synchronisation
          }
        }
      }
    };
    const producers = [producer(), producer(), producer()];
    await until(() => acked.size >= 20);
    const before = acked.size;
    crashPostgres();
    await until(() => failures > 0);
    server = await startEmbeddedPostgres({ dataDir: dir, port: server.port });
    await until(() => acked.size >= before + 20, 30_000);
    stop = true;
    await Promise.all(producers);

    expect(before).toBeGreaterThan(0);
    expect(failures).toBeGreaterThan(0);
    expect(acked.size).toBeGreaterThan(before);
    const rows: { id: string }[] = await db.dataSource.query(`SELECT id FROM mailroom_message`);
    const stored = new Map<string, number>();
    for (const { id } of rows) stored.set(id, (stored.get(id) ?? 0) + 1);
    const lost = [...acked].filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
    expect([...stored.values()].every((n) => n === 1)).toBe(true);

    // The node recovers fully: its LISTEN connection is back and wakes a waiting consumer.
    await client.purgeQueue('durable');
    const receiving = client.receive('durable', { waitMs: 10_000 });
    await until(() => polls.waiting('durable') >= 1); // so the send must wake it
    await client.send('durable', 'after the crash');
    expect((await receiving).map((m) => m.body)).toEqual(['after the crash']);
  });
});
