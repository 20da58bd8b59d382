import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { until } from '../support/wait';
import { longPollsWaiting, queueWithDeadLetters, startBroker } from './broker';

describe('shutdown', () => {
  it('answers a waiting long-poll at once instead of holding shutdown for waitMs', async () => {
    const broker = await startBroker();
    await broker.call('PUT', '/v1/queues/idle', {});
    const waitMs = 20_000;
    const polling = broker.call('POST', '/v1/queues/idle/receive', { waitMs });
    await until(async () => (await longPollsWaiting(broker, 'idle')) === 1);
    const closing = broker.close();
    // The property itself, not a time budget: answered before its waitMs ran out.
    const first = await Promise.race([polling.then(() => 'answered'), sleep(waitMs, 'waited out', { ref: false })]);
    expect(first).toBe('answered');
    expect(await polling).toEqual({ status: 200, body: { messages: [] } });
    await closing;
  });

  it('stops a long redrive between batches, answering what it moved and what remains', async () => {
    const broker = await startBroker();
    const queue = await queueWithDeadLetters(broker, 100);
    // 10 a second: 10 s for all of them, unless shutdown stops it.
    const redrive = broker.call('POST', `/v1/queues/${queue}/dead-letters/redrive`, { all: true, ratePerSecond: 10 });
    await until(async () => (await broker.call('GET', `/v1/queues/${queue}`)).body.stats.available >= 10);
    await broker.close();
    const reply = await redrive;
    expect(reply.status).toBe(200);
    expect(reply.body.moved).toBeGreaterThanOrEqual(10);
    expect(reply.body.moved).toBeLessThan(100);
    expect(reply.body.remaining).toBe(100 - reply.body.moved);
  });
});
