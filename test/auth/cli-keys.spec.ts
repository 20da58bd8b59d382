import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailroom } from '../cli/cli';
import { startBroker, type TestBroker } from '../rest/broker';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

describe('mailroom keys', () => {
  it('creates a key (shown once), lists it without the key, and revokes it at once', async () => {
    const created = await mailroom(broker.url, 'keys', 'create', 'shop', '--scope', 'produce:orders', '--json');
    expect(created.code).toBe(0);
    const { id, key, scopes } = created.json;
    expect(scopes).toEqual(['produce:orders']);
    await broker.call('PUT', '/v1/queues/orders', {});
    // --key wins over MAILROOM_KEY.
    const sent = await mailroom(broker.url, 'send', 'orders', '--body', '{"n":1}', '--key', key);
    expect(sent.code).toBe(0);
    const forbidden = await mailroom(broker.url, 'queues', 'ls', '--key', key, '--json');
    expect(forbidden.code).toBe(2);
    expect(forbidden.json.error.code).toBe('forbidden');

    const listed = await mailroom(broker.url, 'keys', 'ls');
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+shop\\s+produce:orders\\s`, 'm'));
    expect(listed.stdout).not.toContain(key);

    expect((await mailroom(broker.url, 'keys', 'revoke', id)).code).toBe(0);
    const refused = await mailroom(broker.url, 'send', 'orders', '--body', '{"n":2}', '--key', key, '--json');
    expect(refused.code).toBe(2);
    expect(refused.json.error.code).toBe('unauthorized');
  });

  it('needs at least one --scope', async () => {
    const { code, stderr } = await mailroom(broker.url, 'keys', 'create', 'x');
    expect(code).toBe(1);
    expect(stderr).toContain('--scope');
  });
});
