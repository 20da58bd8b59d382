import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { BenchBody } from '../lib/body';
import { benchUrl, dropSchema, freshSchema } from '../lib/pg';
import { startPullLoop, type PullSource } from '../lib/pull';
import { within } from '../lib/timing';
import { projectVersion } from '../lib/versions';
import type { BenchSystem, QueueUnderTest, RunInfo } from './system';

/** Beside this file in the same build, so the broker runs the same library code as the bench. */
const BROKER = join(__dirname, '..', 'broker.js');
const APP_FACTORY = join(__dirname, '..', '..', 'src', 'app.factory.js');
const QUEUE = 'bench';
const WAIT_MS = 1_000;
/** Messages per receive: a batch as large as the library consumer's prefetch in this bench. */
const RECEIVE_MAX = 100;
/** Sockets kept open to the broker: one per concurrent caller (W2c has 50). */
const MAX_SOCKETS = 64;
const CALL_TIMEOUT_MS = 30_000;
/** The broker seeds it (MAILROOM_ADMIN_KEY): the bench measures the authenticated path. */
const KEY = randomBytes(32).toString('hex');

interface Delivery {
  body: BenchBody;
  receipt: string;
}

/**
 * Mailroom over its REST API: the broker app (src/app.factory.ts, started by bench/broker.ts)
 * as a child process on an ephemeral loopback port with DATABASE_URL on the run's schema; the bench talks HTTP/1.1 to it
 * through node:http with a keep-alive Agent (cheaper per call than fetch, so the client's CPU weighs
 * less in the broker's figures). Broker and bench are separate processes, as they would be.
 * MAILROOM_BENCH_BROKER_ARGS adds node flags to the broker (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
 */
export const mailroomRestSystem: BenchSystem = {
  id: 'mailroom-rest',
  label: 'Mailroom (REST)',
  store: 'postgres',
  role: 'mailroom',
  describe: () => ({
    version: projectVersion(),
    settings:
      'broker = createBrokerApp in a child process (bench/broker.ts: 127.0.0.1, ephemeral port, DATABASE_URL on the run schema, default Mailroom options); ' +
      `client = node:http, Agent { keepAlive: true, maxSockets: ${MAX_SOCKETS} }, HTTP/1.1 on loopback; ` +
      'POST /v1/queues/bench/messages (single, or { messages } batch); consumers: `concurrency` loops of POST ' +
      `receive { max: ${RECEIVE_MAX}, waitMs: ${WAIT_MS}, ack: <the previous batch's receipts> } (one call per batch)`,
  }),
  probe: async () => {
    if (!existsSync(APP_FACTORY)) return 'the broker app (src/app.factory.ts) is not there yet';
    if (!existsSync(BROKER)) return 'bench/broker.ts is not built';
    return null;
  },
  open: (run) => openRest(run),
};

async function openRest(run: RunInfo): Promise<QueueUnderTest> {
  const schema = `bench_rest_${run.tag}`;
  await freshSchema(schema);
  const broker = await startBroker(benchUrl(schema));
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const call = async <T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> => {
    const { status, text } = await exchange(agent, broker.port, method, `/v1/queues/${QUEUE}${path}`, body, signal);
    if (status >= 300) throw new Error(`${method} ${path}: HTTP ${status} ${text.slice(0, 200)}`);
    return (text ? JSON.parse(text) : null) as T;
  };
  try {
    await call('PUT', '', {});
  } catch (error) {
    await broker.stop();
    throw error;
  }
  const receive = async (done: Delivery[], signal: AbortSignal) => {
    const request = { consumer: 'bench', max: RECEIVE_MAX, waitMs: WAIT_MS };
    const ack = done.length > 0 ? { ack: done.map((d) => d.receipt) } : {};
    const reply = await call<{ messages: Delivery[] }>('POST', '/receive', { ...request, ...ack }, signal).catch(
      (error) => {
        if (signal.aborted) return { messages: [] };
        throw error;
      },
    );
    return reply.messages;
  };
  const source: PullSource<Delivery> = {
    receive: (signal) => receive([], signal),
    settleAndReceive: (done, signal) => receive(done, signal),
    body: (d) => d.body,
    settle: async (deliveries) => {
      await call('POST', '/ack', { receipts: deliveries.map((d) => d.receipt) });
    },
  };
  return {
    send: async (body) => void (await call('POST', '/messages', { body })),
    sendBatch: async (bodies) => void (await call('POST', '/messages', { messages: bodies.map((body) => ({ body })) })),
    consume: async (options) => startPullLoop(source, run.settings.concurrency, options, run.onError),
    serverPid: () => broker.pid,
    pending: async () => {
      const { stats } = await call<{ stats: Record<string, number> }>('GET', '');
      return stats.available + stats.inFlight + stats.delayed + stats.exhausted;
    },
    close: async () => {
      agent.destroy();
      await broker.stop();
      await dropSchema(schema);
    },
  };
}

/** One HTTP/1.1 call on a kept-alive socket: its status and body text. */
function exchange(
  agent: Agent,
  port: number,
  method: string,
  path: string,
  body: unknown,
  signal: AbortSignal | undefined,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = { authorization: `Bearer ${KEY}` };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { agent, host: '127.0.0.1', port, method, path, headers, timeout: CALL_TIMEOUT_MS, signal },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => resolve({ status: response.statusCode!, text: Buffer.concat(chunks).toString() }));
        response.once('error', reject);
      },
    );
    request.once('timeout', () => request.destroy(new Error(`${method} ${path}: no answer in ${CALL_TIMEOUT_MS} ms`)));
    request.once('error', reject);
    request.end(payload);
  });
}

/** Starts bench/broker.ts and waits for its `LISTENING <port>` line. */
async function startBroker(databaseUrl: string): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const nodeArgs = (process.env.MAILROOM_BENCH_BROKER_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, BROKER], {
    env: { ...process.env, DATABASE_URL: databaseUrl, MAILROOM_ADMIN_KEY: KEY, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await within(15_000, 'broker shutdown', exited).catch(() => child.kill('SIGKILL'));
  };
  const port = new Promise<number>((resolve, reject) => {
    const scan = (chunk: Buffer) => {
      const text = chunk.toString().replace(/\x1b\[[0-9;]*m/g, '');
      output.push(text);
      const match = /LISTENING (\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    };
    child.stdout!.on('data', scan);
    child.stderr!.on('data', scan);
    child.once('exit', (code) =>
      reject(new Error(`broker exited (${code}) before listening: ${output.join('').slice(-500)}`)),
    );
  });
  try {
    const listening = await within(30_000, 'broker start', port);
    return { port: listening, pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
