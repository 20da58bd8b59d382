import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProducerFencedError, SequenceGapError, type MailroomClient } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { until } from '../support/wait';

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

  it('stores every one of many sends started at once, in call order', async () => {
    await client.createQueue('concurrent', { dedupWindowMs: 0 });
    const producer = await client.producer('concurrent');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send('concurrent', i)));
    expect(results.every((r) => !r.duplicate)).toBe(true);
    const got = await client.receive<number>('concurrent', { max: 20 });
    expect(got.map((m) => m.body)).toEqual(Array.from({ length: 20 }, (_, i) => i));
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

  it.each([
    ['has passed', 50],
    ['is 0', 0],
  ])('recognises a retry whatever the dedup window: after it %s', async (_, dedupWindowMs) => {
    const queue = `windowed-${dedupWindowMs}`;
    await client.createQueue(queue, { dedupWindowMs });
    const producer = await client.producer(`windowed-${dedupWindowMs}`);
    const stamp = { id: producer.id, epoch: producer.epoch };
    const first = await client.sendBatch(queue, [{ body: 'a' }, { body: 'b' }], {
      producer: { ...stamp, sequence: 0 },
    });
    // No id is remembered by the queue any longer: only the producer's own record can catch the retry.
    const remembered = () =>
      db.dataSource.query(
        `SELECT 1 FROM mailroom_dedup WHERE expires_at > now() AND queue_id =
                             (SELECT id FROM mailroom_queue WHERE name = $1)`,
        [queue],
      );
    await until(async () => (await remembered()).length === 0);
    const retry = await client.sendBatch(queue, [{ body: 'a' }], { producer: { ...stamp, sequence: 0 } });
    expect(retry).toEqual([{ ...first[0], duplicate: true }]);
    const overlapping = await client.sendBatch(queue, [{ body: 'b' }, { body: 'c' }], {
      producer: { ...stamp, sequence: 1 },
    });
    expect(overlapping[0]).toEqual({ ...first[1], duplicate: true });
    expect(overlapping[1].duplicate).toBe(false);
    const got = await client.receive<string>(queue, { max: 10 });
    expect(got.map((m) => m.body)).toEqual(['a', 'b', 'c']);
  });

  it('answers a retry of a sequence it skipped or no longer keeps the ack of as a duplicate, storing nothing', async () => {
    await client.createQueue('skipped', { dedupWindowMs: 0 });
    const producer = await client.producer('skipping');
    const stamp = { id: producer.id, epoch: producer.epoch };
    await client.sendBatch('skipped', [{ body: 5 }], { producer: { ...stamp, sequence: 5 } });
    const skipped = await client.sendBatch('skipped', [{ body: 3 }], { producer: { ...stamp, sequence: 3 } });
    expect(skipped).toEqual([{ id: expect.any(String), sequence: null, duplicate: true }]);
    expect((await client.getQueue('skipped')).stats.available).toBe(1);
  });

  it('keeps the acks of the last 10,000 sequences only, and still recognises older retries by id', async () => {
    await client.createQueue('trimmed', { dedupWindowMs: 0 });
    const producer = await client.producer('trimming');
    const stamp = { id: producer.id, epoch: producer.epoch };
    const [first] = await client.sendBatch('trimmed', [{ body: 0 }], { producer: { ...stamp, sequence: 0 } });
    await client.sendBatch('trimmed', [{ body: 1 }], { producer: { ...stamp, sequence: 10_000 } });
    const rows = await db.dataSource.query(`SELECT sequence FROM mailroom_producer_ack WHERE producer_id = 'trimming'`);
    expect(rows).toEqual([{ sequence: '10000' }]);
    const retry = await client.sendBatch('trimmed', [{ body: 0 }], { producer: { ...stamp, sequence: 0 } });
    expect(retry).toEqual([{ id: first.id, sequence: null, duplicate: true }]);
    expect((await client.getQueue('trimmed')).stats.available).toBe(2);
  });

  it('stores a sequence once when its retries race the original', async () => {
    await client.createQueue('raced', { dedupWindowMs: 0 });
    const producer = await client.producer('racing');
    const request = { producer: { id: producer.id, epoch: producer.epoch, sequence: 0 } };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => client.sendBatch('raced', [{ body: 'x' }], request)),
    );
    expect(results.filter(([r]) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map(([r]) => `${r.id}/${r.sequence}`)).size).toBe(1);
    expect((await client.getQueue('raced')).stats.available).toBe(1);
  });

  it("forgets an older epoch's acks once the new instance sends", async () => {
    const older = await client.producer('reborn');
    await older.send('produced', 'old');
    const newer = await client.producer('reborn');
    expect((await newer.send('produced', 'new')).duplicate).toBe(false);
    const rows = await db.dataSource.query(`SELECT epoch FROM mailroom_producer_ack WHERE producer_id = 'reborn'`);
    expect(rows).toEqual([{ epoch: newer.epoch }]);
  });

  it('refuses a stamp for a producer never initialised', async () => {
    const error = await client
      .sendBatch('produced', [{ body: 1 }], { producer: { id: 'ghost', epoch: 1, sequence: 0 } })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ProducerFencedError);
    expect(error.message).toMatch(/never initialised/);
  });
});
