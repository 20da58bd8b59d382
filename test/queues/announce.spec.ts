import { afterAll, describe, expect, it } from 'vitest';
import { Wakeups } from '@mailroom/core/database/wakeups';
import { pgConfigOf } from '@mailroom/core/database/pg-config';
import { databaseWithClient } from '../support/database';
import { until } from '../support/wait';

/** A timer's wake-up (workflow.after-commit.ts): this node's consumers directly, other nodes' by NOTIFY on the LISTEN connection. */
const env = databaseWithClient();
const nodes: Wakeups[] = [];
afterAll(async () => {
  for (const node of nodes) await node.close();
});

async function node(): Promise<Wakeups> {
  const wakeups = new Wakeups(pgConfigOf(env.db.dataSource));
  nodes.push(wakeups);
  await wakeups.start();
  return wakeups;
}

describe('announcing due messages', () => {
  it('wakes the watchers of the named queues on every node, and only those', async () => {
    await env.client.createQueue('due');
    await env.client.createQueue('quiet');
    const ids = Object.fromEntries(
      (await env.db.dataSource.query(`SELECT name, id FROM mailroom_queue WHERE name IN ('due', 'quiet')`)).map(
        (r: { name: string; id: number }) => [r.name, r.id],
      ),
    );
    const [here, there] = [await node(), await node()];
    const woken: string[] = [];
    const watch = (wakeups: Wakeups, name: string, label: string) =>
      void wakeups
        .watch(ids[name])
        .wait(60_000)
        .then(() => woken.push(label));
    watch(there, 'due', 'there:due');
    watch(there, 'quiet', 'there:quiet');
    watch(here, 'due', 'here:due');
    await here.announce(['due']);
    await until(() => woken.length === 2);
    expect(woken.sort()).toEqual(['here:due', 'there:due']);
  });

  it('wakes this node’s watchers of a queue at once, without the database', async () => {
    const [{ id }] = await env.db.dataSource.query(`SELECT id FROM mailroom_queue WHERE name = 'due'`);
    const here = await node();
    let woken = false;
    const waiting = here
      .watch(id)
      .wait(60_000)
      .then(() => {
        woken = true;
      });
    here.wakeLocal(id);
    await waiting;
    expect(woken).toBe(true);
  });
});

/** Wakeups.mark: what lets a long poll after a short claim wait without claiming (delivery/known-empty.ts). */
describe('wake-up marks', () => {
  it('changes a queue’s mark on its every wake-up (notification, local wake-up, resync), and not on another queue’s', async () => {
    await env.client.createQueue('marked');
    await env.client.createQueue('other');
    const [{ id }] = await env.db.dataSource.query(`SELECT id FROM mailroom_queue WHERE name = 'marked'`);
    const [{ id: otherId }] = await env.db.dataSource.query(`SELECT id FROM mailroom_queue WHERE name = 'other'`);
    const here = await node();
    let mark = here.mark(id);
    // Another queue's send: once its notification is in, the mark is as it was.
    const otherWoken = here.watch(otherId).wait(60_000);
    await env.client.send('other', 'not ours');
    await otherWoken;
    expect(here.mark(id)).toBe(mark);
    await env.client.send('marked', 'ours');
    await until(() => here.mark(id) !== mark);
    mark = here.mark(id);
    here.wakeLocal(id);
    expect(here.mark(id)).not.toBe(mark);
    mark = here.mark(id);
    // Notifications may have been missed while the LISTEN connection was down: a resync changes every mark.
    await env.db.dataSource.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'mailroom-listen' AND datname = current_database()`,
    );
    await until(() => here.mark(id) !== mark);
  });
});
