import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProducerFencedError, SequenceGapError, type MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';

let db: TestDatabase;
let client: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
  await client.createQueue('produced');
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

const stored = async () => (await client.getQueue('produced')).stats.available;

describe('idempotent producer', () => {
  it('stores a retried sequence once and answers the retry with the original', async () => {
    const producer = await client.producer('orders-service');
    const first = await client.sendBatch('produced', [{ body: 'a' }], {
      producer: { id: producer.id, epoch: producer.epoch, sequence: 0 },
    });
    const retry = await client.sendBatch('produced', [{ body: 'a' }], {
      producer: { id: producer.id, epoch: producer.epoch, sequence: 0 },
    });
    expect(retry).toEqual([{ ...first[0], duplicate: true }]);
    expect(await stored()).toBe(1);
  });

  it('numbers its own sends and survives a lost answer by resending the same sequence', async () => {
    await client.purgeQueue('produced');
    const producer = await client.producer('numbered');
    const results = [];
    for (let i = 0; i < 5; i += 1) results.push(await producer.send('produced', { i }));
    expect(results.map((r) => r.duplicate)).toEqual([false, false, false, false, false]);
    // The answer to sequence 3 "was lost": the same stamp again stores nothing new.
    const again = await client.sendBatch('produced', [{ body: { i: 3 } }], {
      producer: { id: 'numbered', epoch: producer.epoch, sequence: 3 },
    });
    expect(again[0]).toEqual({ ...results[3], duplicate: true });
    expect(await stored()).toBe(5);
  });

  it('fences a zombie instance once a newer one exists', async () => {
    const zombie = await client.producer('fenced');
    await zombie.send('produced', 'before the partition');
    const successor = await client.producer('fenced');
    expect(successor.epoch).toBe(zombie.epoch + 1);
    const error = await zombie.send('produced', 'from the zombie').catch((e) => e);
    expect(error).toBeInstanceOf(ProducerFencedError);
    expect(error.code).toBe('producer_fenced');
    expect((await successor.send('produced', 'from the successor')).duplicate).toBe(false);
  });

  it('accepts gaps by default and rejects them when asked', async () => {
    const lenient = await client.producer('lenient');
    const stamp = { id: 'lenient', epoch: lenient.epoch };
    await client.sendBatch('produced', [{ body: 1 }], { producer: { ...stamp, sequence: 0 } });
    await client.sendBatch('produced', [{ body: 2 }], { producer: { ...stamp, sequence: 5 } });
    const strict = await client.producer('strict', { rejectGaps: true });
    const strictStamp = { id: 'strict', epoch: strict.epoch };
    await client.sendBatch('produced', [{ body: 1 }, { body: 2 }], { producer: { ...strictStamp, sequence: 0 } });
    const gap = await client
      .sendBatch('produced', [{ body: 4 }], { producer: { ...strictStamp, sequence: 3 } })
      .catch((e) => e);
    expect(gap).toBeInstanceOf(SequenceGapError);
    expect(gap).toMatchObject({ expected: 2, got: 3 });
    await client.sendBatch('produced', [{ body: 3 }], { producer: { ...strictStamp, sequence: 2 } });
  });

  it('refuses a stamp for a producer never initialised', async () => {
    const error = await client
      .sendBatch('produced', [{ body: 1 }], { producer: { id: 'ghost', epoch: 1, sequence: 0 } })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ProducerFencedError);
    expect(error.message).toMatch(/never initialised/);
  });
});
