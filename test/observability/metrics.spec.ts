import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, uniqueName, type TestBroker } from '../rest/broker';
import { bearer } from '../support/auth';

/** GET /metrics: the broker's counters, histograms and (cached) depth gauges in Prometheus text. */

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

async function scrape(): Promise<{ type: string | null; text: string; value: (series: string) => number | undefined }> {
  const response = await fetch(`${broker.url}/metrics`, { headers: bearer() });
  expect(response.status).toBe(200);
  const text = await response.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { type: response.headers.get('content-type'), text, value: (series) => values.get(series) };
}

async function receive(queue: string, max: number): Promise<string[]> {
  const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, { max });
  return body.messages.map((m: { receipt: string }) => m.receipt);
}

describe('GET /metrics', () => {
  it('counts sends, deliveries, acks, nacks, retries and dead letters, and reports depth by state', async () => {
    const queue = uniqueName('metrics');
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    await broker.call('POST', `/v1/queues/${queue}/messages`, { messages: [1, 2, 3, 4].map((body) => ({ body })) });
    const [first, second, third] = await receive(queue, 3);
    await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: [first] });
    await broker.call('POST', `/v1/queues/${queue}/nack`, { receipts: [second], deadLetter: true, reason: 'bad' });
    await broker.call('POST', `/v1/queues/${queue}/nack`, { receipts: [third] });

    const metrics = await scrape();
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const q = `queue="${queue}"`;
    expect(metrics.value(`mailroom_messages_sent_total{${q}}`)).toBe(4);
    expect(metrics.value(`mailroom_deliveries_total{${q}}`)).toBe(3);
    expect(metrics.value(`mailroom_acks_total{${q}}`)).toBe(1);
    expect(metrics.value(`mailroom_nacks_total{${q}}`)).toBe(2);
    expect(metrics.value(`mailroom_retries_total{${q}}`)).toBe(1);
    expect(metrics.value(`mailroom_dead_letters_total{${q},reason="rejected"}`)).toBe(1);
    expect(metrics.value(`mailroom_send_statement_seconds_count{${q}}`)).toBe(1);
    expect(metrics.value(`mailroom_claim_statement_seconds_count{${q}}`)).toBeGreaterThanOrEqual(1);
    expect(metrics.value(`mailroom_queue_messages{${q},state="available"}`)).toBe(1);
    expect(metrics.value(`mailroom_queue_messages{${q},state="delayed"}`)).toBe(1); // the retry's backoff
    expect(metrics.value(`mailroom_queue_messages{${q},state="in_flight"}`)).toBe(0);
    expect(metrics.value(`mailroom_queue_dead_lettered{${q}}`)).toBe(1);
    expect(metrics.value(`mailroom_queue_oldest_message_age_seconds{${q}}`)).toBeGreaterThanOrEqual(0);
    expect(metrics.text).toContain('# TYPE mailroom_handler_seconds histogram');
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
  });

  it('counts a redelivery: a claim of a message delivered before', async () => {
    const queue = uniqueName('metrics');
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 'again' });
    const [receipt] = await receive(queue, 1);
    await broker.call('POST', `/v1/queues/${queue}/nack`, { receipts: [receipt], delayMs: 0 });
    expect(await receive(queue, 1)).toHaveLength(1);
    expect((await scrape()).value(`mailroom_redeliveries_total{queue="${queue}"}`)).toBe(1);
  });

  it('does not count the queues on every scrape: depth is read at most once per interval', async () => {
    const queue = uniqueName('metrics');
    await broker.call('PUT', `/v1/queues/${queue}`, {});
    await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 1 });
    // A scrape right before may have read the depth already; force a read that sees the queue.
    const seen = (await scrape()).value(`mailroom_queue_messages{queue="${queue}",state="available"}`);
    await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 2 });
    const again = (await scrape()).value(`mailroom_queue_messages{queue="${queue}",state="available"}`);
    // Within the 10 s interval the second scrape reuses the first one's figures.
    expect(again).toBe(seen);
  });
});
