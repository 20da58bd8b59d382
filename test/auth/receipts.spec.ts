import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, statsOf, uniqueName, type TestBroker } from '../rest/broker';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
});

/** A queue with `count` messages, all received now: their receipts. */
async function received(count: number): Promise<{ queue: string; receipts: string[] }> {
  const queue = uniqueName('rc');
  await broker.call('PUT', `/v1/queues/${queue}`, {});
  await broker.call('POST', `/v1/queues/${queue}/messages`, {
    messages: Array.from({ length: count }, (_, i) => ({ body: i })),
  });
  const { body } = await broker.call('POST', `/v1/queues/${queue}/receive`, { max: count, leaseMs: 60_000 });
  return { queue, receipts: body.messages.map((m: { receipt: string }) => m.receipt) };
}

const libraryPart = (receipt: string) => receipt.split('.')[0];
const fakeMac = 'A'.repeat(43);

/** The settle request `path` takes for `receipts`. */
const settle = (path: string, receipts: string[]) => (path === 'extend' ? { receipts, leaseMs: 1000 } : { receipts });

describe('signed receipts', () => {
  it('hands out receipts signed by the broker', async () => {
    const { receipts } = await received(1);
    expect(receipts[0]).toMatch(/^[A-Za-z0-9_-]+\.\d+\.[A-Za-z0-9_-]{43}$/);
  });

  it('answers a receipt built from message ids (no signature) with 400, settling nothing', async () => {
    const { queue, receipts } = await received(1);
    // What anyone who saw the message's seq and id can build: base64url of seq.id.delivery.
    const built = libraryPart(receipts[0]);
    for (const path of ['ack', 'nack', 'extend']) {
      const reply = await broker.call('POST', `/v1/queues/${queue}/${path}`, settle(path, [built]));
      expect(reply.status, path).toBe(400);
      expect(reply.body.error).toMatchObject({ code: 'invalid_request', field: 'receipts[0]' });
    }
    expect(await statsOf(broker, queue)).toMatchObject({ inFlight: 1, available: 0 });
  });

  it('answers forged and tampered receipts with 409 receipt_invalid, settling nothing', async () => {
    const { queue, receipts } = await received(2);
    const [first, second] = receipts;
    const [, secretId, mac] = second.split('.');
    const forged = [
      `${libraryPart(first)}.${secretId}.${fakeMac}`,
      // Another delivery's signature on this delivery's receipt.
      `${libraryPart(first)}.${secretId}.${mac}`,
      // A secret that does not exist.
      `${libraryPart(first)}.999999.${mac}`,
    ];
    for (const receipt of forged) {
      for (const path of ['ack', 'nack', 'extend']) {
        const reply = await broker.call('POST', `/v1/queues/${queue}/${path}`, settle(path, [second, receipt]));
        expect(reply.status, `${path} ${receipt}`).toBe(409);
        expect(reply.body.error.code).toBe('receipt_invalid');
      }
    }
    expect(await statsOf(broker, queue)).toMatchObject({ inFlight: 2, available: 0 });
    expect((await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: [first, second] })).body).toEqual({
      acked: 2,
    });
  });

  it('refuses a receipt with trailing bytes (400)', async () => {
    const { queue, receipts } = await received(1);
    for (const receipt of [`${receipts[0]}A`, `${receipts[0]}.`, `${receipts[0]} `]) {
      expect((await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: [receipt] })).status, receipt).toBe(400);
    }
    expect(await statsOf(broker, queue)).toMatchObject({ inFlight: 1 });
  });

  it("checks receive's ack receipts too: a forged one fails the whole receive, claiming nothing", async () => {
    const { queue, receipts } = await received(1);
    await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 'next' });
    const forged = `${libraryPart(receipts[0])}.1.${fakeMac}`;
    const reply = await broker.call('POST', `/v1/queues/${queue}/receive`, { ack: [forged] });
    expect(reply.status).toBe(409);
    expect(await statsOf(broker, queue)).toMatchObject({ inFlight: 1, available: 1 });
    const next = await broker.call('POST', `/v1/queues/${queue}/receive`, { ack: receipts });
    expect(next.status).toBe(200);
    expect(next.body.messages.map((m: { body: string }) => m.body)).toEqual(['next']);
  });

  it('names lost leases by the receipts the client sent', async () => {
    const { queue, receipts } = await received(1);
    await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts });
    const reply = await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts });
    expect(reply.status).toBe(409);
    expect(reply.body.error).toMatchObject({ code: 'lease_lost', receipts });
  });

  it('keeps receipts valid across one rotation of the secret, not two', async () => {
    const { queue, receipts } = await received(2);
    expect((await broker.call('POST', '/v1/receipt-secrets/rotate')).status).toBe(200);
    expect(
      (await broker.call('POST', `/v1/queues/${queue}/extend`, { receipts: [receipts[0]], leaseMs: 60_000 })).status,
    ).toBe(200);
    await broker.call('POST', `/v1/queues/${queue}/messages`, { body: 'after' });
    const after = (await broker.call('POST', `/v1/queues/${queue}/receive`, { leaseMs: 60_000 })).body.messages[0]
      .receipt;
    expect(after.split('.')[1]).not.toBe(receipts[0].split('.')[1]);
    expect((await broker.call('POST', '/v1/receipt-secrets/rotate')).status).toBe(200);
    const stale = await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: [receipts[1]] });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('receipt_invalid');
    expect((await broker.call('POST', `/v1/queues/${queue}/ack`, { receipts: [after] })).body).toEqual({ acked: 1 });
  });
});
