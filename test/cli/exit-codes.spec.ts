import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, uniqueName, type TestBroker } from '../rest/broker';
import { mailroom } from './cli';

/** What scripts rely on: the exit code, and where the error goes (stderr, or stdout with --json). */

let broker: TestBroker;
let run: (...args: string[]) => ReturnType<typeof mailroom>;
/** A URL nothing listens at: a port that was free a moment ago. */
let closed: string;

beforeAll(async () => {
  broker = await startBroker();
  run = (...args) => mailroom(broker.url, ...args);
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closed = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((resolve) => probe.close(resolve));
});
afterAll(async () => {
  await broker?.close();
});

describe('mailroom --help', () => {
  it('lists every command and documents the exit codes', async () => {
    const { code, stdout } = await run('--help');
    expect(code).toBe(0);
    for (const command of ['queues ls', 'queues show', 'send', 'dlq ls', 'dlq show', 'dlq redrive', 'dlq purge']) {
      expect(stdout).toContain(`  ${command}`);
    }
    expect(stdout).toContain('MAILROOM_URL');
    for (const exit of ['0 ', '1 ', '2 ', '3 ']) expect(stdout).toMatch(new RegExp(`^  ${exit}`, 'm'));
  });
});

describe('usage errors: exit 1, before any request', () => {
  it.each([
    [[], /no command/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['dlq'], /"dlq" needs one of: ls, show, redrive, purge/],
    [['queues', 'show'], /expected: mailroom queues show NAME/],
    [['queues', 'ls', 'extra'], /expected: mailroom queues ls/],
    [['queues', 'ls', '--color'], /unknown option --color/],
    [['send', 'q'], /--body is required/],
    [['send', 'q', '--body', 'hello'], /--body is not JSON/],
    [['send', 'q', '--body'], /--body needs a value/],
    [['send', 'q', '--body', '1', '--header', 'novalue'], /--header takes KEY=VALUE/],
    [['dlq', 'ls', 'q', '--limit', 'ten'], /--limit must be a whole number/],
    [['dlq', 'redrive', 'q'], /--all, or --id/],
    [['dlq', 'redrive', 'q', '--all', '--id', 'x'], /not both/],
    [['dlq', 'redrive', 'q', '--all', '--rate', '0'], /--rate must be a whole number of at least 1/],
    [['dlq', 'purge', 'q'], /--all, or --id/],
    [['dlq', 'purge', 'q', '--all=yes'], /--all takes no value/],
  ])('mailroom %j', async (args, message) => {
    // Pointed at a closed port: reaching for the broker would exit 3 instead.
    const { code, stdout, stderr } = await mailroom(closed, ...args);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^usage: /);
    expect(stderr).toMatch(message);
  });

  it('answers in JSON on stdout with --json', async () => {
    const { code, json } = await mailroom(closed, '--json', 'send', 'q');
    expect(code).toBe(1);
    expect(json).toEqual({ error: { code: 'usage', message: expect.stringMatching(/--body is required/) } });
  });

  it('refuses a MAILROOM_URL that is not an http URL', async () => {
    const { code, stderr } = await mailroom('ftp://example.com', 'queues', 'ls');
    expect(code).toBe(1);
    expect(stderr).toMatch(/MAILROOM_URL must be an http\(s\) URL/);
  });
});

describe('a broker that cannot be reached: exit 3', () => {
  let other: Server;
  let otherUrl: string;

  beforeAll(async () => {
    // Something listens, but it is not Mailroom.
    other = createServer((_request, response) => response.writeHead(200).end('<html>hello</html>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => other.close(() => resolve())));

  it('when nothing listens', async () => {
    const { code, stderr } = await mailroom(closed, 'queues', 'ls');
    expect(code).toBe(3);
    expect(stderr).toBe(
      `unreachable: cannot reach the broker at ${closed}/ (ECONNREFUSED); is it running, and is MAILROOM_URL right?\n`,
    );
    const asJson = await mailroom(closed, 'queues', 'ls', '--json');
    expect(asJson).toMatchObject({ code: 3, json: { error: { code: 'unreachable' } } });
  });

  it('when something else answers', async () => {
    const { code, stderr } = await mailroom(otherUrl, 'queues', 'ls');
    expect(code).toBe(3);
    expect(stderr).toMatch(/without a Mailroom response/);
  });
});

describe('API errors: exit 2 with "code: message"', () => {
  it('on stderr, or as the error object on stdout with --json', async () => {
    const missing = uniqueName('missing');
    const human = await run('queues', 'show', missing);
    const api = await broker.call('GET', `/v1/queues/${missing}`);
    expect(human).toMatchObject({ code: 2, stdout: '' });
    expect(human.stderr).toBe(`queue_not_found: ${api.body.error.message}\n`);
    const json = await run('queues', 'show', missing, '--json');
    expect(json).toMatchObject({ code: 2, stderr: '' });
    expect(json.json).toEqual(api.body);
  });

  it('names the field of a 400', async () => {
    const { code, stderr } = await run('send', 'bad name', '--body', '1');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^invalid_request: name: /);
  });
});
