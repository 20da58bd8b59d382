import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { queueWithDeadLetters, startBroker } from './broker';

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

  it('stops a long redrive between batches, answering what it moved and what remains', async () => {
    const broker = await startBroker();
    const queue = await queueWithDeadLetters(broker, 100);
    // 10 a second: 10 s for all of them, unless shutdown stops it.
    const redrive = broker.call('POST', `/v1/queues/${queue}/dead-letters/redrive`, { all: true, ratePerSecond: 10 });
    const answeredAt = redrive.then(() => Date.now());
    await sleep(1500);
    const started = Date.now();
    await broker.close();
    const reply = await redrive;
    expect((await answeredAt) - started).toBeLessThan(3000);
    expect(reply.status).toBe(200);
    expect(reply.body.moved).toBeGreaterThanOrEqual(10);
    expect(reply.body.moved).toBeLessThan(100);
    expect(reply.body.remaining).toBe(100 - reply.body.moved);
  });
});
