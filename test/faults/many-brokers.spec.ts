import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Not part of the public API: the chores' lock keys, to name what the nodes report.
import { CHORE_LOCKS } from '../../libs/mailroom/src/database/singleton';
import { bearer, TEST_ADMIN_KEY } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { freePort } from '../support/pgbouncer';
import { compiledBroker, fixture, startProcess, type RunningProcess } from '../support/processes';
import { sleep, until } from '../support/wait';
import { startWebhook } from '../support/webhook';

/**
 * Issue 18, many brokers: four broker processes and four library consumers on one database
 * under load, one broker SIGKILLed, every Mailroom connection terminated at once, and one
 * consumer SIGKILLed. Then: every acknowledged send is handled (at-least-once, counted),
 * every exactly-once effect exists exactly once and was relayed from the outbox, and each
 * singleton chore (reaper, janitor, outbox buckets) never ran on two nodes at once and was
 * run by a surviving node after the consumer died (the time it took is printed, not bounded).
 * The consumers report their chore runs; the brokers run the same chores unreported.
 */
const PER_QUEUE = 150;
const DEADLINE_MS = 90_000;
const NODES = 4;

const uuidOf = (text: string) => {
  const hex = createHash('sha1').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

interface Broker {
  port: number;
  process: RunningProcess;
}
interface ChoreRun {
  node: number;
  key: number;
  startedAt: number;
  endedAt: number;
}

let db: TestDatabase;
const brokers: Broker[] = [];
const consumers: RunningProcess[] = [];
const handled = new Map<string, number>();
const chores: ChoreRun[] = [];
let hook: Awaited<ReturnType<typeof startWebhook>>;

async function startBroker(): Promise<Broker> {
  const port = await freePort();
  const process = startProcess(compiledBroker(), {
    DATABASE_URL: db.url,
    PORT: String(port),
    MAILROOM_ADMIN_KEY: TEST_ADMIN_KEY,
  });
  await process.waitForLine(/Listening on/, 120_000);
  return { port, process };
}

function startConsumer(node: number): RunningProcess {
  const consumer = startProcess(fixture('fleet-consumer'), {
    DATABASE_URL: db.url,
    NAME: `fleet-consumer-${node}`,
    HOOK_URL: hook.url,
  });
  consumer.onLine((line) => {
    const [word, ...rest] = line.split(' ');
    if (word === 'handled') handled.set(rest[0], (handled.get(rest[0]) ?? 0) + 1);
    if (word === 'chore') {
      const [key, startedAt, endedAt] = rest.map(Number);
      chores.push({ node, key, startedAt, endedAt });
    }
  });
  return consumer;
}

/** Sends through broker `n % 4`, moving on to the next broker until one acknowledges it. */
async function send(queue: string, n: number, failures: { count: number }): Promise<string> {
  for (let attempt = n; ; attempt += 1) {
    const broker = brokers[attempt % brokers.length];
    const reply = await fetch(`http://127.0.0.1:${broker.port}/v1/queues/${queue}/messages`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: JSON.stringify({ id: uuidOf(`${queue}/${n}`), body: { n } }),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => null);
    if (reply?.status === 201) return ((await reply.json()) as { id: string }).id;
    failures.count += 1;
    await sleep(50); // a client's back-off before it tries another broker, not synchronisation
  }
}

/** Chore runs of one lock on different nodes whose lock-holding intervals overlap. */
function overlaps(runs: ChoreRun[]): [ChoreRun, ChoreRun][] {
  const found: [ChoreRun, ChoreRun][] = [];
  const byKey = new Map<number, ChoreRun[]>();
  for (const run of runs) byKey.set(run.key, [...(byKey.get(run.key) ?? []), run]);
  for (const list of byKey.values()) {
    const sorted = [...list].sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 0; i < sorted.length; i += 1) {
      for (let j = i + 1; j < sorted.length && sorted[j].startedAt < sorted[i].endedAt; j += 1) {
        if (sorted[j].node !== sorted[i].node) found.push([sorted[i], sorted[j]]);
      }
    }
  }
  return found;
}

/** What is left in the queues, and the leases holding it: printed when a drain does not finish. */
const stuck = () =>
  db.dataSource.query(
    `SELECT q.name, m.id, m.attempts, m.delivery_count, m.visible_at > now() AS later, l.state, l.consumer,
            l.expires_at > now() AS lease_live, l.expires_at - l.created_at AS lease_age
       FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
       LEFT JOIN mailroom_lease l ON l.id = m.lease_id`,
  );

const choreName = (key: number) =>
  key === CHORE_LOCKS.leaseReaper ? 'reaper' : key === CHORE_LOCKS.janitor ? 'janitor' : 'relay';

beforeAll(async () => {
  db = await createTestDatabase();
  await db.dataSource.query(`CREATE TABLE fleet_effect (message_id uuid NOT NULL, n int NOT NULL)`);
  hook = await startWebhook();
  // One broker migrates first; the other three then find nothing to do.
  brokers.push(await startBroker());
  brokers.push(...(await Promise.all(Array.from({ length: NODES - 1 }, startBroker))));
  consumers.push(...Array.from({ length: NODES }, (_, node) => startConsumer(node)));
  await Promise.all(consumers.map((c) => c.waitForLine(/^consuming$/, 120_000)));
}, 300_000);
afterAll(async () => {
  await Promise.all([...consumers, ...brokers.map((b) => b.process)].map((p) => p.kill('SIGKILL')));
  await hook?.close();
  await db?.drop();
});

describe('four brokers and four consumers on one database', () => {
  it(
    'handles every acknowledged send through a broker kill, a connection storm and a consumer kill; chores stay single',
    { timeout: 240_000 },
    async () => {
      const acked = { work: new Set<string>(), effects: new Set<string>() };
      const failures = { count: 0 };
      const produce = async (queue: 'work' | 'effects', lane: number) => {
        for (let n = lane; n < PER_QUEUE; n += 4) acked[queue].add(await send(`fleet-${queue}`, n, failures));
      };
      const producing = Promise.all([0, 1, 2, 3].flatMap((lane) => [produce('work', lane), produce('effects', lane)]));
      const total = () => acked.work.size + acked.effects.size;

      // Faults by progress, not time: each strikes after a share of the sends is acknowledged.
      await until(() => total() >= (2 * PER_QUEUE) / 4, DEADLINE_MS);
      await brokers[0].process.kill('SIGKILL');
      await until(() => total() >= (2 * PER_QUEUE) / 2, DEADLINE_MS);
      const [{ terminated }] = await db.dataSource.query(
        `SELECT count(pg_terminate_backend(pid))::int AS terminated FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      await until(() => total() >= (3 * 2 * PER_QUEUE) / 4, DEADLINE_MS);
      const victim = 0;
      const killedAt = Date.now();
      await consumers[victim].kill('SIGKILL');
      await producing;

      // Drained: every acknowledged send handled, every effect stored and relayed.
      await until(() => [...acked.work].every((id) => handled.has(id)), DEADLINE_MS);
      await until(async () => {
        const [{ n }] = await db.dataSource.query(`SELECT count(DISTINCT message_id)::int AS n FROM fleet_effect`);
        return n === acked.effects.size;
      }, DEADLINE_MS).catch(async (error) => {
        console.log(await stuck());
        throw error;
      });
      await until(() => new Set(hook.received.map((h) => h.key)).size === acked.effects.size, DEADLINE_MS);
      // Each chore was taken over: run by a surviving node after the victim died.
      const after = (key: (k: number) => boolean) =>
        chores.find((r) => r.node !== victim && r.startedAt >= killedAt && key(r.key));
      const kinds = {
        reaper: (k: number) => k === CHORE_LOCKS.leaseReaper,
        janitor: (k: number) => k === CHORE_LOCKS.janitor,
        relay: (k: number) => choreName(k) === 'relay',
      };
      await until(() => Object.values(kinds).every((kind) => after(kind) !== undefined), DEADLINE_MS);

      const effects: { message_id: string; n: number }[] = await db.dataSource.query(
        `SELECT message_id, count(*)::int AS n FROM fleet_effect GROUP BY 1`,
      );
      const redelivered = [...handled.values()].filter((count) => count > 1).length;
      const takeover = Object.entries(kinds).map(([name, kind]) => `${name} ${after(kind)!.startedAt - killedAt} ms`);
      const runsByNode = [0, 1, 2, 3].map((node) => chores.filter((r) => r.node === node).length);
      console.log(
        `many brokers: ${acked.work.size}+${acked.effects.size} acknowledged, ${failures.count} sends retried on another broker, ` +
          `${terminated} connections terminated, ${redelivered} work messages handled more than once, ` +
          `${hook.received.length} relayed (${acked.effects.size} distinct); chore runs by node ${runsByNode.join('/')}; ` +
          `taken over after the consumer kill: ${takeover.join(', ')}`,
      );
      expect(failures.count).toBeGreaterThan(0);
      expect(terminated).toBeGreaterThan(0);
      expect([...acked.work].filter((id) => !handled.has(id))).toEqual([]);
      expect(effects.filter((e) => e.n !== 1)).toEqual([]);
      expect(effects.map((e) => e.message_id).sort()).toEqual([...acked.effects].sort());
      expect(new Set(hook.received.map((h) => h.key))).toEqual(acked.effects);
      expect(new Set(chores.map((r) => r.node)).size).toBeGreaterThan(1);
      expect(overlaps(chores)).toEqual([]);
    },
  );
});
