import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueWithDeadLetters, startBroker, statsOf, uniqueName, type TestBroker } from '../rest/broker';
import { mailroom } from './cli';

let broker: TestBroker;
let run: (...args: string[]) => ReturnType<typeof mailroom>;

beforeAll(async () => {
  broker = await startBroker();
  run = (...args) => mailroom(broker.url, ...args);
});
afterAll(async () => {
  await broker?.close();
});

async function newQueue(...bodies: unknown[]): Promise<string> {
  const queue = uniqueName();
  await broker.call('PUT', `/v1/queues/${queue}`, {});
  if (bodies.length > 0) {
    await broker.call('POST', `/v1/queues/${queue}/messages`, { messages: bodies.map((body) => ({ body })) });
  }
  return queue;
}

const deadLetters = async (queue: string) =>
  (await broker.call('GET', `/v1/queues/${queue}/dead-letters?limit=1000`)).body.deadLetters as any[];

describe('queues', () => {
  it('ls prints a table, and with --json what the API returns', async () => {
    const queue = await newQueue('a', 'b');
    const { code, stdout } = await run('queues', 'ls');
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^NAME\s+STATE\s+AVAILABLE\s+IN FLIGHT\s+DELAYED\s+EXHAUSTED\s+DLQ$/);
    expect(stdout).toMatch(new RegExp(`^${queue}\\s+active\\s+2\\s+0\\s+0\\s+0\\s+${queue}\\.dlq$`, 'm'));
    const json = await run('queues', 'ls', '--json');
    expect(json.json).toEqual((await broker.call('GET', '/v1/queues')).body);
  });

  it('show prints state, counts and options', async () => {
    const queue = await newQueue('a');
    const { code, stdout } = await run('queues', 'show', queue);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^name\\s+${queue}$`, 'm'));
    expect(stdout).toMatch(/^available\s+1$/m);
    expect(stdout).toMatch(/^options\.retry\.strategy\s+\w+$/m);
    expect((await run('--json', 'queues', 'show', queue)).json).toEqual(
      (await broker.call('GET', `/v1/queues/${queue}`)).body,
    );
  });
});

describe('send', () => {
  it('sends a JSON body with headers', async () => {
    const queue = await newQueue();
    const { code, stdout } = await run(
      'send',
      queue,
      '--body',
      '{"orderId": 42}',
      '--header',
      'source=cli',
      '--header',
      'trace=a=b',
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Sent [0-9a-f-]{36} to ${queue} \\(sequence \\d+\\)\\.\n$`));
    const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, {});
    expect(body.messages[0]).toMatchObject({ body: { orderId: 42 }, headers: { source: 'cli', trace: 'a=b' } });
  });

  it('--json prints { id, sequence, duplicate }; a repeated --id is a duplicate', async () => {
    const queue = await newQueue();
    const id = '0d9c6f1e-4b7a-4c1d-9f3e-2a1b0c9d8e7f';
    const first = await run('send', queue, '--body', '"once"', '--id', id, '--json');
    expect(first).toMatchObject({ code: 0, json: { id, sequence: expect.any(Number), duplicate: false } });
    const again = await run('send', queue, '--body=-1', `--id=${id}`);
    expect(again.stdout).toMatch(/^Already stored: /);
    expect((await statsOf(broker, queue)).available).toBe(1);
  });
});

describe('dlq', () => {
  it('ls prints a table of dead letters, paging with --limit and --cursor', async () => {
    const queue = await queueWithDeadLetters(broker, 3);
    const all = await run('dlq', 'ls', queue);
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+REASON\s+DELIVERIES\s+DEAD-LETTERED\s+ERROR$/);
    expect(lines.slice(1)).toHaveLength(3);
    expect(lines[1]).toMatch(/^[0-9a-f-]{36}\s+rejected\s+1\s+\S+\s+boom$/);
    const page = await run('dlq', 'ls', queue, '--limit', '2');
    expect(page.stdout.trimEnd().split('\n')).toHaveLength(3);
    const cursor = /--cursor (\d+)/.exec(page.stderr)?.[1];
    expect(cursor).toBeDefined();
    const rest = await run('dlq', 'ls', queue, '--limit', '2', '--cursor', cursor!, '--json');
    expect(rest.json.deadLetters.map((d: { body: number }) => d.body)).toEqual([2]);
    expect((await run('dlq', 'ls', queue, '--reason', 'expired')).stdout).toBe(`No dead letters of ${queue}.\n`);
    const json = await run('dlq', 'ls', queue, '--json');
    expect(json.json).toEqual((await broker.call('GET', `/v1/queues/${queue}/dead-letters`)).body);
  });

  it('show prints one dead letter with its body; an unknown id exits 2', async () => {
    const queue = await queueWithDeadLetters(broker, 1);
    const [dead] = await deadLetters(queue);
    const { code, stdout } = await run('dlq', 'show', queue, dead.id);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^reason\s+rejected$/m);
    expect(stdout).toMatch(/^error\s+boom$/m);
    expect(stdout).toMatch(/^body\n {2}0$/m);
    expect((await run('dlq', 'show', queue, dead.id, '--json')).json).toEqual(dead);
    const unknown = await run('dlq', 'show', queue, '7f3e2a1b-0c9d-4e7f-8d9c-6f1e4b7a4c1d');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^dead_letter_not_found: /);
  });

  it('redrives some hundreds in batches, with a final count', async () => {
    const queue = await queueWithDeadLetters(broker, 450);
    const { code, stdout, stderr } = await run('dlq', 'redrive', queue, '--all', '--batch', '100');
    expect(code).toBe(0);
    expect(stdout).toBe(`Moved 450 dead letters of ${queue} to ${queue}.\n`);
    // Not a terminal: no progress bar.
    expect(stderr).toBe('');
    expect(await deadLetters(queue)).toEqual([]);
    expect((await statsOf(broker, queue)).available).toBe(450);
    const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, { max: 3 });
    expect(body.messages.map((m: { body: number }) => m.body)).toEqual([0, 1, 2]);
  });

  it('redrives chosen ids to another queue at a rate, printing { moved, remaining } with --json', async () => {
    const queue = await queueWithDeadLetters(broker, 4);
    const target = await newQueue();
    const [a, , c] = await deadLetters(queue);
    const result = await run(
      'dlq',
      'redrive',
      queue,
      '--id',
      a.id,
      '--id',
      c.id,
      '--to',
      target,
      '--rate',
      '1000',
      '--json',
    );
    expect(result).toMatchObject({ code: 0, json: { moved: 2, remaining: 0 } });
    expect((await statsOf(broker, target)).available).toBe(2);
    expect((await deadLetters(queue)).map((d) => d.body)).toEqual([1, 3]);
  });

  it('refuses a redrive to a queue that does not exist: exit 2, nothing moved', async () => {
    const queue = await queueWithDeadLetters(broker, 2);
    const { code, stderr } = await run('dlq', 'redrive', queue, '--all', '--to', 'nowhere');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^queue_not_found: Queue "nowhere"/);
    expect(await deadLetters(queue)).toHaveLength(2);
  });

  it('purges some ids, then all', async () => {
    const queue = await queueWithDeadLetters(broker, 3);
    const [first] = await deadLetters(queue);
    const some = await run('dlq', 'purge', queue, '--id', first.id);
    expect(some).toMatchObject({ code: 0, stdout: `Purged 1 dead letter of ${queue}.\n` });
    expect((await run('dlq', 'purge', queue, '--all', '--json')).json).toEqual({ purged: 2 });
    expect(await deadLetters(queue)).toEqual([]);
  });
});
