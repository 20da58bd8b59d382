/**
 * `npm run test:ha`: Mailroom through a Patroni failover. Under load through HAProxy, the
 * leader's Postgres is SIGKILLed (Patroni brings it back), then the leader's Patroni is
 * SIGKILLed (the standby is promoted once the leader key expires). No Mailroom process is
 * restarted. Checks: every acknowledged send handled, no exactly-once effect twice, and the
 * recovery times. Prints "N passed, N failed" and writes .ha-results.json for .ci/run.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { Cluster, PG_BIN } from './cluster';
import { Load, prepare } from './load';

/** The whole run's bound; a run past it fails with the phase it was in. */
const TIMEOUT_MS = Number(process.env.HA_TIMEOUT_MS ?? 210_000);
/** Sends after which the producers stop even if the phases are not done: a bounded run. */
const SEND_LIMIT = 30_000;
const RESULTS = '.ha-results.json';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
const checks: Check[] = [];
const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
let phase = 'starting';
const log = (line: string) => console.log(`[ha ${new Date().toISOString().slice(11, 19)}] ${line}`);

function missingTools(): string[] {
  const onPath = (bin: string) =>
    (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, bin))) || existsSync(`/usr/sbin/${bin}`);
  const missing = ['etcd', 'patroni', 'haproxy'].filter((bin) => !onPath(bin));
  if (!existsSync(join(PG_BIN, 'postgres'))) missing.push(`${PG_BIN}/postgres`);
  return missing;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  phase = what;
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

async function scenario(cluster: Cluster): Promise<void> {
  phase = 'starting etcd, two Patroni nodes and HAProxy';
  let t = Date.now();
  await cluster.start();
  const roles = (await cluster.members()).map((m) => `${m.name} ${m.role}`).join(', ');
  log(`cluster up in ${((Date.now() - t) / 1000).toFixed(1)} s: ${roles}; HAProxy :${cluster.haproxyPort}`);
  const admin = new Client({ connectionString: `${cluster.url}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE mailroom');
  await admin.end();
  const url = `${cluster.url}/mailroom`;
  await prepare(url);
  const load = await Load.start(url, SEND_LIMIT);
  const { tally } = load;
  try {
    await until('the load to warm up', () => tally.ackedCount() >= 200, 30_000);

    // 1. The leader's postmaster dies; its Patroni restarts it (or fails over).
    const first = await cluster.currentLeader();
    t = Date.now();
    process.kill(cluster.postmasterPid(first), 'SIGKILL');
    log(`SIGKILL to ${first.name}'s postmaster with ${tally.ackedCount()} sends acknowledged`);
    await until('a send to succeed after the postmaster kill', () => tally.recoveredAt(t) !== null, 60_000);
    const recovery1 = tally.recoveredAt(t)! - t;
    const failures1 = tally.sendFailures;
    log(`sends succeed again ${recovery1} ms after the kill; leader now ${(await cluster.leader())?.name}`);
    check(
      "sends recover after the leader's postmaster is SIGKILLed",
      true,
      `${recovery1} ms, ${failures1} failed attempts retried`,
    );

    // 2. The leader's Patroni dies: its Postgres runs on unmanaged until HAProxy stops routing to
    // it, the leader key expires and Patroni promotes the synchronous standby.
    await until(
      'a synchronous standby again',
      async () => (await cluster.members()).some((m) => m.role === 'sync_standby' && m.state === 'running'),
      60_000,
    );
    const synced = Date.now();
    await until('a send with the standby back', () => tally.firstAckAfter(synced) !== null, 30_000);
    const second = await cluster.currentLeader();
    t = Date.now();
    second.patroni.kill('SIGKILL');
    log(`SIGKILL to ${second.name}'s Patroni with ${tally.ackedCount()} sends acknowledged`);
    await until(
      'the standby to be promoted',
      async () => ((await cluster.leader())?.name ?? second.name) !== second.name,
      90_000,
    );
    const promoted = await cluster.currentLeader();
    log(`${promoted.name} leads ${Date.now() - t} ms after the kill`);
    await until('a send to succeed after the failover', () => tally.recoveredAt(t) !== null, 60_000);
    const recovery2 = tally.recoveredAt(t)! - t;
    log(`sends succeed again ${recovery2} ms after the kill`);
    check(
      "the standby is promoted after the leader's Patroni is SIGKILLed",
      promoted.name !== second.name,
      `${second.name} → ${promoted.name}`,
    );
    check(
      'sends recover through HAProxy after the failover',
      true,
      `${recovery2} ms, ${tally.sendFailures - failures1} failed attempts retried`,
    );
    const after = tally.ackedCount();
    await until('200 sends after the failover', () => tally.ackedCount() >= after + 200, 30_000);

    await load.stopSending();
    await verify(url, load);
    log(
      `recovery times: postmaster SIGKILL ${recovery1} ms, Patroni SIGKILL (failover) ${recovery2} ms; ` +
        `load ${loadavg()[0].toFixed(2)}`,
    );
  } finally {
    const errors = [...tally.errors].sort((a, b) => b[1] - a[1]).slice(0, 8);
    log(`errors seen by the load (retried): ${errors.map(([e, n]) => `\n  ${n} × ${e}`).join('') || 'none'}`);
    await load.close();
  }
}

/** Drains, then checks: each acknowledged send handled, each exactly-once effect applied once. */
async function verify(url: string, load: Load): Promise<void> {
  const { tally } = load;
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    const effects = async (kind: string) => {
      const rows = await db.query<{ ref: string; n: number }>(
        `SELECT ref, count(*)::int AS n FROM ha_effect WHERE kind = $1 GROUP BY ref`,
        [kind],
      );
      return new Map(rows.rows.map((r) => [r.ref, r.n]));
    };
    const missing = async () => ({
      orders: [...tally.acked.get('ha-orders')!].filter((id) => !tally.handled.get('ha-orders')!.has(id)),
      pull: [...tally.acked.get('ha-pull')!].filter((id) => !tally.handled.get('ha-pull')!.has(id)),
      ledger: [...tally.acked.get('ha-ledger')!].filter((id) => !ledger.has(id)),
      flow: [...tally.acked.get('ha-flow')!].filter((key) => !flow.has(key)),
    });
    let ledger = new Map<string, number>();
    let flow = new Map<string, number>();
    let left = await missing();
    await until(
      'every acknowledged send to be handled',
      async () => {
        [ledger, flow] = [await effects('ledger'), await effects('flow')];
        left = await missing();
        return Object.values(left).every((ids) => ids.length === 0);
      },
      60_000,
    ).catch(() => undefined);
    const lost = (ids: string[]) => (ids.length ? `${ids.length} lost, e.g. ${ids.slice(0, 3).join(', ')}` : '0 lost');
    const count = (q: string) => tally.acked.get(q)!.size;
    check(
      '0 acknowledged sends lost: @OnMessage at-least-once',
      left.orders.length === 0,
      `${count('ha-orders')} acked, ${lost(left.orders)}`,
    );
    check(
      '0 acknowledged sends lost: client.receive at-least-once',
      left.pull.length === 0,
      `${count('ha-pull')} acked, ${lost(left.pull)}`,
    );
    check(
      '0 acknowledged sends lost: exactly-once handler',
      left.ledger.length === 0,
      `${count('ha-ledger')} acked, ${lost(left.ledger)}`,
    );
    check(
      '0 workflows lost: each started one finishes',
      left.flow.length === 0,
      `${count('ha-flow')} started, ${lost(left.flow)}`,
    );
    if (left.flow.length) {
      const stuck = await db.query(
        `SELECT key, status, state_value, failure FROM mailroom_workflow_instance WHERE key = ANY($1)`,
        [left.flow],
      );
      const queued = await db.query(
        `SELECT q.name, m.body, m.delivery_count, m.lease_id IS NOT NULL AS leased, m.visible_at, m.last_error
           FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id`,
      );
      console.log('unfinished workflows:', JSON.stringify(stuck.rows), '\nmessages left:', JSON.stringify(queued.rows));
    }
    const twice = [...ledger, ...flow].filter(([, n]) => n > 1);
    check(
      '0 exactly-once effects applied twice (handler and workflow transition)',
      twice.length === 0,
      `${ledger.size + flow.size} effects, ${twice.length} twice; at-least-once redeliveries: ${tally.redeliveries}`,
    );
    // Consumers also poll, so delivery alone does not show that wake-ups came back.
    const listening = async () => {
      const { rows } = await db.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'mailroom-listen'`);
      return rows.length === 1;
    };
    await until('the LISTEN connection on the new primary', listening, 20_000).catch(() => undefined);
    check('the LISTEN connection is back, on the new primary', await listening(), 'application_name mailroom-listen');
  } finally {
    await db.end();
  }
}

function report(): number {
  const failed = checks.filter((c) => !c.ok).length;
  for (const c of checks) console.log(`${c.ok ? '✓' : '✗'} ${c.name} — ${c.detail}`);
  writeFileSync(RESULTS, JSON.stringify({ passed: checks.length - failed, failed, checks }, null, 2));
  console.log(`${checks.length - failed} passed, ${failed} failed`);
  return failed > 0 || checks.length === 0 ? 1 : 0;
}

async function main(): Promise<void> {
  rmSync(RESULTS, { force: true });
  const missing = missingTools();
  if (missing.length) {
    check(
      'HA tools installed',
      false,
      `missing ${missing.join(', ')}: apt-get install patroni etcd-server haproxy postgresql-15`,
    );
    process.exit(report());
  }
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-ha-'));
  chmodSync(dir, 0o755); // Patroni runs as postgres and must reach its folders inside
  const cluster = new Cluster(dir);
  let status = 1;
  const timer = setTimeout(() => {
    check('the HA run finishes in time', false, `still "${phase}" after ${TIMEOUT_MS / 1000} s`);
    console.log(cluster.logs());
    const status = report();
    void cluster.stop().finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(status);
    });
  }, TIMEOUT_MS);
  try {
    await scenario(cluster);
    status = 0;
  } catch (error) {
    check('the HA run completes', false, `${(error as Error).message} (while ${phase})`);
  } finally {
    clearTimeout(timer);
    status = report() || status;
    if (status !== 0) console.log(cluster.logs());
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(status);
}

void main();
