import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { fixture, startProcess } from '../support/processes';
import { startWebhook } from '../support/webhook';
import { sleep, until } from '../support/wait';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('outbox relay killed mid-batch', () => {
  it('delivers every row at least once and each key in order, across SIGKILLs and restarts', async () => {
    const hook = await startWebhook(async () => {
      await sleep(2); // the receiver's work, so a kill can land mid-batch
      return 200;
    });
    const writer = await startClient(db.dataSource, {
      outbox: { destinations: { hook: { url: 'http://127.0.0.1:9/unused' } } },
    });
    await writer.close(); // only its outbox writer is needed: no relay of its own runs against the real hook
    const rows = 300;
    const outbox = writer.outbox('hook');
    await db.dataSource.transaction(async (manager) => {
      for (let n = 0; n < rows; n += 1)
        await outbox.emit('tick', { key: `k${n % 5}`, n }, { manager, key: `k${n % 5}` });
    });

    let kills = 0;
    for (let round = 0; round < 3; round += 1) {
      const relay = startProcess(fixture('outbox-relay'), { DATABASE_URL: db.url, WEBHOOK_URL: hook.url });
      await relay.waitForLine(/^relaying/);
      const before = hook.received.length;
      await until(() => hook.received.length >= before + 40);
      await relay.kill('SIGKILL');
      kills += 1;
    }
    const finisher = await startClient(db.dataSource, { outbox: { destinations: { hook: { url: hook.url } } } });
    await until(() => new Set(hook.received.map((h) => h.id)).size >= rows, 60_000);
    await finisher.close();
    await hook.close();

    const ns = hook.received.map((h) => (h.body as { n: number }).n);
    expect(new Set(ns).size).toBe(rows);
    for (let k = 0; k < 5; k += 1) {
      const firstTimes: number[] = [];
      const seen = new Set<number>();
      for (const n of ns.filter((x) => x % 5 === k)) {
        if (!seen.has(n)) firstTimes.push(n);
        seen.add(n);
      }
      expect(firstTimes).toEqual([...firstTimes].sort((a, b) => a - b));
    }
    const resent = hook.received.length - rows;
    console.log(
      `outbox relay: ${kills} SIGKILLs, ${rows} rows, ${resent} re-sent after a crash, 0 lost, order kept per key`,
    );
    expect(kills).toBe(3);
    expect((await db.dataSource.query(`SELECT count(*)::int AS n FROM mailroom_outbox`))[0].n).toBe(0);
  });
});
