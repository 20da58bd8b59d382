/**
 * A throwaway HA Postgres on loopback: etcd, two Postgres 15 nodes under Patroni with
 * synchronous replication, and HAProxy sending connections to whichever node Patroni's
 * REST API calls the primary. Everything lives under one temp folder with ports of its own.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { haproxyConfig, patroniConfig } from './config';

import { PG_BIN } from './config';
export { PG_BIN };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Node {
  name: string;
  pgPort: number;
  restPort: number;
  dataDir: string;
  patroni: ChildProcess;
}

interface Member {
  name: string;
  role: string;
  state: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Patroni refuses to run Postgres as root: as root, it runs as `postgres` (setpriv execs, so the pid is Patroni's). */
function asPostgres(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}

function owned(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(path, uid, gid);
  }
  return path;
}

export class Cluster {
  readonly nodes: Node[] = [];
  haproxyPort = 0;
  private readonly children: ChildProcess[] = [];
  private etcdPort = 0;

  constructor(readonly dir: string) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.haproxyPort}`;
  }

  async start(): Promise<void> {
    await this.startEtcd();
    for (const name of ['node1', 'node2']) {
      await this.startNode(name);
      // The first node bootstraps the cluster; the second clones it once it leads.
      if (this.nodes.length === 1)
        await this.waitFor(async () => (await this.leader()) !== null, 'node1 to bootstrap', 60_000);
    }
    await this.startHaproxy();
    await this.waitFor(
      async () => (await this.members()).some((m) => m.role === 'sync_standby' && m.state !== 'stopped'),
      'a synchronous standby',
      90_000,
    );
  }

  /** The running leader, waited for (a restart or promotion may be under way). */
  async currentLeader(): Promise<Node> {
    let leader: Node | null = null;
    await this.waitFor(async () => (leader = await this.leader()) !== null, 'running leader', 60_000);
    return leader!;
  }

  /** The member Patroni calls the leader, read from any node's REST API that answers. */
  async leader(): Promise<Node | null> {
    const leader = (await this.members()).find((m) => m.role === 'leader' && m.state === 'running');
    return this.nodes.find((n) => n.name === leader?.name) ?? null;
  }

  async members(): Promise<Member[]> {
    for (const node of this.nodes) {
      try {
        const res = await fetch(`http://127.0.0.1:${node.restPort}/cluster`, { signal: AbortSignal.timeout(1_000) });
        return ((await res.json()) as { members: Member[] }).members;
      } catch {
        // that node's API is down: ask the next one
      }
    }
    return [];
  }

  postmasterPid(node: Node): number {
    return Number(readFileSync(join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /** Stops everything this cluster started, the orphaned postmasters of killed Patronis included. */
  async stop(): Promise<void> {
    for (const child of this.children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
    // Patroni stops its own Postgres on SIGTERM: wait for it before the leftovers are shot.
    await this.waitFor(
      () => this.children.every((c) => c.exitCode !== null || c.signalCode !== null),
      'Patroni exit',
      10_000,
    ).catch(() => undefined);
    // A pid file left by a killed postmaster may name a reused pid: only a postgres is shot.
    const alive = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
      } catch {
        return false;
      }
    };
    const postmasters = this.nodes
      .filter((node) => existsSync(join(node.dataDir, 'postmaster.pid')))
      .map((node) => this.postmasterPid(node))
      .filter(alive);
    for (const pid of postmasters) process.kill(pid, 'SIGQUIT');
    await this.waitFor(() => !postmasters.some(alive), 'Postgres exit', 10_000).catch(() => undefined);
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
  }

  /** The end of every log, for a failed run's output. */
  logs(lines = 40): string {
    const files = [
      ...['etcd', 'haproxy', ...this.nodes.map((n) => n.name)].map((f) => join(this.dir, `${f}.log`)),
      ...this.nodes.map((n) => join(n.dataDir, '..', 'log', 'postgresql.log')),
    ];
    return files
      .filter((f) => existsSync(f))
      .map((f) => `----- ${f}\n${withoutProbeResets(readFileSync(f, 'utf8')).split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  async waitFor(check: () => boolean | Promise<boolean>, what: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`HA cluster: no ${what} within ${ms / 1000} s`);
      await sleep(200);
    }
  }

  private run(name: string, command: string, args: string[]): ChildProcess {
    const log = createWriteStream(join(this.dir, `${name}.log`));
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: this.dir } });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.on('error', (error) => log.write(`spawn failed: ${error.message}\n`));
    this.children.push(child);
    return child;
  }

  private async startEtcd(): Promise<void> {
    this.etcdPort = await freePort();
    const peer = `http://127.0.0.1:${await freePort()}`;
    const client = `http://127.0.0.1:${this.etcdPort}`;
    this.run('etcd', 'etcd', [
      '--name=ha',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=ha=${peer}`,
    ]);
    await this.waitFor(
      async () =>
        await fetch(`${client}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      'etcd',
      20_000,
    );
  }

  private async startNode(name: string): Promise<Node> {
    const [pgPort, restPort] = [await freePort(), await freePort()];
    const home = owned(join(this.dir, name));
    const dataDir = join(home, 'data');
    const config = join(home, 'patroni.json');
    writeFileSync(config, JSON.stringify(patroniConfig(name, home, dataDir, pgPort, restPort, this.etcdPort), null, 2));
    const [command, args] = asPostgres('patroni', [config]);
    const node = { name, pgPort, restPort, dataDir, patroni: this.run(name, command, args) };
    this.nodes.push(node);
    return node;
  }

  private async startHaproxy(): Promise<void> {
    this.haproxyPort = await freePort();
    const config = join(this.dir, 'haproxy.cfg');
    writeFileSync(config, haproxyConfig(this.haproxyPort, this.nodes));
    this.run('haproxy', 'haproxy', ['-db', '-f', config]);
    await this.waitFor(() => accepts(this.haproxyPort), 'haproxy listening', 10_000);
  }
}

/** Patroni logs a traceback each time a health check hangs up early (HAProxy does): noise, dropped. */
function withoutProbeResets(log: string): string {
  return log.replace(/^.*Exception happened during processing of request[^]*?ConnectionResetError.*\n+/gm, '');
}
