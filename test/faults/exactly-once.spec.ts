import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { proofId } from '../fixtures/proof-producer';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { fixture, startProcess, type RunningProcess } from '../support/processes';
import { sleep, until } from '../support/wait';

/**
 * The proof (issue: exactly-once under faults). A producer and two consumers run as
 * child processes while the test SIGKILLs them at random points, terminates their
 * database connections, and restarts them. The producer resends whatever it did not
 * see acknowledged. Then: every acknowledged send is stored once and its effect (a
 * ledger row) exists exactly once, and nothing is lost. The same run at-least-once must
 * show duplicate effects, or this test would prove nothing.
 */
const TOTAL = 5_000;
const MIN_KILLS = 10;
/** How long the drain after the faults, and a restarted process's start, may take: generous, for a loaded machine. */
const DEADLINE_MS = 100_000;
const STARTUP_MS = 60_000;

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];

interface ProofRun {
  kills: number;
  terminations: number;
  producerRetries: number;
  duplicatesSuppressed: number;
  acked: Set<number>;
  ledger: Map<number, number>;
}

async function runProof(db: TestDatabase, client: MailroomClient, mode: string): Promise<ProofRun> {
  const run: ProofRun = {
    kills: 0,
    terminations: 0,
    producerRetries: 0,
    duplicatesSuppressed: 0,
    acked: new Set(),
    ledger: new Map(),
  };
  let producerDone = false;
  const startProducer = (): RunningProcess => {
    let from = 0;
    while (run.acked.has(from)) from += 1;
    const producer = startProcess(fixture('proof-producer'), {
      DATABASE_URL: db.url,
      FROM: String(from),
      TOTAL: String(TOTAL),
    });
    producer.onLine((line) => {
      const [word, n, duplicate] = line.split(' ');
      if (word === 'acked') {
        run.acked.add(Number(n));
        if (duplicate === 'true') run.duplicatesSuppressed += 1;
      } else if (word === 'retry') run.producerRetries += 1;
      else if (word === 'done') producerDone = true;
    });
    return producer;
  };
  const startConsumer = (i: number) =>
    startProcess(fixture('proof-consumer'), { DATABASE_URL: db.url, MODE: mode, NAME: `proof-consumer-${i}` });

  let producer = startProducer();
  const consumers = [startConsumer(0), startConsumer(1)];
  const drained = async () => {
    if (!producerDone) return false;
    const { stats } = await client.getQueue('proof');
    return stats.available + stats.inFlight + stats.delayed === 0;
  };
  try {
    // MIN_KILLS faults, each striking a process that is up: a restarted one is awaited before
    // the next fault, so a loaded machine makes the run slower, never a string of kills of
    // processes still starting that keeps the queue from ever draining.
    while (run.kills < MIN_KILLS) {
      await sleep(400 + Math.random() * 600); // when the next fault strikes: random on purpose, not synchronisation
      const action = pick(['consumer', 'consumer', 'producer', 'connections']);
      if (action === 'producer' && !producerDone) {
        await producer.kill('SIGKILL');
        run.kills += 1;
        producer = startProducer();
        await producer.waitForLine(/^(acked|done)/, STARTUP_MS);
      } else if (action === 'connections') {
        const [{ n }] = await db.dataSource.query(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE 'proof-%' AND random() < 0.5`,
        );
        run.terminations += n;
      } else {
        const i = Math.floor(Math.random() * consumers.length);
        await consumers[i].kill('SIGKILL');
        run.kills += 1;
        consumers[i] = startConsumer(i);
        await consumers[i].waitForLine(/^consuming/, STARTUP_MS);
      }
    }
    await until(drained, DEADLINE_MS).catch(async (error) => {
      const { stats } = await client.getQueue('proof');
      throw new Error(
        `${error.message}: ${run.acked.size} acked, producer done: ${producerDone}, queue ${JSON.stringify(stats)}`,
      );
    });
  } finally {
    await Promise.all([producer, ...consumers].map((p) => p.kill('SIGTERM')));
  }
  const rows: { n: number; copies: number }[] = await db.dataSource.query(
    `SELECT n, count(*)::int AS copies FROM ledger GROUP BY n`,
  );
  run.ledger = new Map(rows.map((r) => [r.n, r.copies]));
  return run;
}

let db: TestDatabase;
let client: MailroomClient;

async function freshProofQueue(): Promise<void> {
  await db.dataSource.query(
    `DROP TABLE IF EXISTS ledger; CREATE TABLE ledger (message_id uuid NOT NULL, n int NOT NULL)`,
  );
  await db.dataSource.query(`TRUNCATE mailroom_inbox, mailroom_dedup`);
  if ((await client.listQueues()).some((q) => q.name === 'proof')) await client.deleteQueue('proof');
  await client.createQueue('proof', { maxDeliveries: 1000, leaseMs: 1_000, retry: { delayMs: 20, maxDelayMs: 200 } });
}

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

describe('exactly-once under faults', () => {
  it(
    'stores every acknowledged send once and applies its effect exactly once, across kills and cut connections',
    { timeout: 150_000 },
    async () => {
      await freshProofQueue();
      const run = await runProof(db, client, 'exactly-once');
      const lost = [...run.acked].filter((n) => !run.ledger.has(n));
      const twice = [...run.ledger].filter(([, copies]) => copies > 1);
      const [{ inbox }] = await db.dataSource.query(
        `SELECT count(*)::int AS inbox FROM mailroom_inbox WHERE consumer = 'ledger-writer'`,
      );
      const [{ stored }] = await db.dataSource.query(`SELECT count(*)::int AS stored FROM mailroom_dedup`);
      console.log(
        `exactly-once: ${TOTAL} messages, ${run.kills} SIGKILLs, ${run.terminations} connections terminated, ` +
          `${run.producerRetries} producer retries, ${run.duplicatesSuppressed} duplicate sends suppressed, ` +
          `${lost.length} lost, ${twice.length} effects applied twice`,
      );
      expect(run.kills).toBeGreaterThanOrEqual(MIN_KILLS);
      expect(run.acked.size).toBe(TOTAL);
      expect(stored).toBe(TOTAL); // each acknowledged id registered once: stored once
      if (lost.length > 0) {
        const ids = lost.map(proofId);
        const where = await db.dataSource.query(
          `SELECT i.id,
                (SELECT count(*) FROM mailroom_message m WHERE m.id = i.id) AS messages,
                (SELECT count(*) FROM mailroom_inbox x WHERE x.message_id = i.id::text) AS inbox,
                (SELECT count(*) FROM mailroom_dedup d WHERE d.message_id = i.id) AS dedup
           FROM unnest($1::uuid[]) AS i(id)`,
          [ids],
        );
        console.log('lost:', JSON.stringify(where));
      }
      expect(lost).toEqual([]);
      expect(twice).toEqual([]);
      expect(run.ledger.size).toBe(TOTAL);
      expect(inbox).toBe(TOTAL);
      expect((await client.countDeadLetters('proof')) + (await client.getQueue('proof')).stats.exhausted).toBe(0);
      expect(await db.dataSource.query(`SELECT id FROM mailroom_message WHERE id = $1`, [proofId(0)])).toEqual([]);
    },
  );

  it(
    'shows duplicate effects in the same run at-least-once (so the proof above can fail)',
    { timeout: 450_000 },
    async () => {
      // A kill lands between an effect and its ack by chance (seen in most runs, not all):
      // up to three runs, each losing nothing, until one shows a duplicate.
      let twice: [number, number][] = [];
      for (let attempt = 1; attempt <= 3 && twice.length === 0; attempt += 1) {
        await freshProofQueue();
        const run = await runProof(db, client, 'at-least-once');
        const lost = [...run.acked].filter((n) => !run.ledger.has(n));
        twice = [...run.ledger].filter(([, copies]) => copies > 1);
        console.log(
          `at-least-once (run ${attempt}): ${TOTAL} messages, ${run.kills} SIGKILLs, ${run.terminations} connections ` +
            `terminated, ${lost.length} lost, ${twice.length} effects applied more than once`,
        );
        expect(lost).toEqual([]);
      }
      expect(twice.length).toBeGreaterThan(0);
    },
  );
});
