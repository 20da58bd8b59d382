import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startBroker } from './broker';

describe('shutdown', () => {
  it('answers a waiting long-poll at once instead of holding shutdown for waitMs', async () => {
    const broker = await startBroker();
    await broker.call('PUT', '/v1/queues/idle', {});
    const polling = broker.call('POST', '/v1/queues/idle/receive', { waitMs: 15_000 });
    await sleep(300);
    const started = Date.now();
    await broker.close();
    expect(await polling).toEqual({ status: 200, body: { messages: [] } });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
