import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { mailroomEntities, MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { eventually, until } from '../support/wait';

/**
 * A failover (test:ha) can kill a connection after a claim committed and before its answer
 * arrived: the claimed messages sit in the consumer's session lease, and nobody has them.
 * The session must stop renewing that lease, so it expires and the messages come back;
 * a session that went on claiming in it would hold them for as long as it runs.
 */
let db: TestDatabase;
let proxy: TcpProxy;
let proxied: DataSource;
let client: MailroomClient;
let direct: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await startTcpProxy(db.url);
  proxied = new DataSource({ type: 'postgres', url: proxy.via(db.url), entities: mailroomEntities });
  await proxied.initialize();
  // Chores run on the direct client: one of them in flight on the proxy's only connection
  // when replies are held would make the claim open a new connection, whose start-up answer
  // is held too, so the claim would never reach the server.
  client = await startClient(proxied, { reaperIntervalMs: 600_000, janitorIntervalMs: 3_600_000 });
  direct = await startClient(db.dataSource);
});
afterAll(async () => {
  await client?.close().catch(() => undefined);
  await direct?.close().catch(() => undefined);
  await proxied?.destroy().catch(() => undefined);
  await proxy?.close();
  await db?.drop();
});

describe('a claim whose answer is lost', () => {
  it('returns its messages to the session that keeps claiming, once the lease expires', async () => {
    // The scenario needs the claim to commit while its answer is lost. A receive whose claim
    // waits for an earlier answer first (a new pooled connection's start-up, a lookup)
    // never gets that far while answers are held: then nothing happened, so set the scene
    // again, on a queue and session of its own.
    let queue = '';
    let receive = { session: '', max: 1, leaseMs: 2_000 };
    let committed = false;
    for (let attempt = 0; attempt < 5 && !committed; attempt += 1) {
      queue = `lost-answer-${attempt}`;
      receive = { ...receive, session: `push-${attempt}` };
      await client.createQueue(queue);
      expect(await client.receive(queue, receive)).toEqual([]); // the session's lease is open
      await direct.send(queue, 'stranded');
      const leased = async () => {
        const rows = await db.dataSource.query(
          `SELECT 1 FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
            WHERE q.name = $1 AND m.lease_id IS NOT NULL`,
          [queue],
        );
        return rows.length === 1;
      };
      proxy.holdReplies();
      const lost = client.receive(queue, receive);
      committed = await until(leased, 5_000).then(
        () => true,
        () => false,
      );
      proxy.cut();
      await expect(lost).rejects.toThrow();
    }
    expect(committed).toBe(true);

    // The session goes on claiming, as a push consumer does, with nothing else to renew the lease.
    const again = await eventually(
      () => client.receive(queue, { ...receive, waitMs: 200 }).catch(() => []),
      (messages) => messages.length > 0,
      30_000,
    );
    expect(again.map((m) => [m.body, m.deliveryCount])).toEqual([['stranded', 2]]);
  });
});
