import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchLongPolls } from '../support/long-polls';
import { until } from '../support/wait';
import { StaleReceipts, type Delivery, type DeliveryAdapter, type Features } from './adapter';

/** The receipts a settlement was refused for: it must fail with `StaleReceipts`. */
const staleOf = async (settling: Promise<unknown>): Promise<string[]> => {
  const error = await settling.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StaleReceipts);
  return (error as StaleReceipts).receipts;
};

/**
 * The delivery behaviour every way into Mailroom shares (DESIGN.md, Delivery and Lease),
 * written once and run against each front through an adapter, as Watermill's
 * `TestPubSub(t, Features{...})` runs one suite against every Pub/Sub.
 */
export function describeDelivery(name: string, makeAdapter: () => Promise<DeliveryAdapter>, features: Features = {}) {
  let front: DeliveryAdapter;
  let counter = 0;
  /** A new queue holding `bodies`, named for the scenario. */
  const queueWith = async (label: string, bodies: unknown[] = [], options: object = {}) => {
    counter += 1;
    const queue = `${label}-${counter}`;
    await front.createQueue(queue, options);
    if (bodies.length > 0)
      await front.sendBatch(
        queue,
        bodies.map((body) => ({ body })),
      );
    return queue;
  };
  const attempts = async (queue: string) =>
    (
      await front.db.query(
        `SELECT m.attempts, m.delivery_count FROM mailroom_message m JOIN mailroom_queue q ON q.id = m.queue_id
          WHERE q.name = $1 ORDER BY m.seq`,
        [queue],
      )
    )[0];
  const leaseDeadlines = async (queue: string): Promise<number[]> =>
    (
      await front.db.query(
        `SELECT l.expires_at FROM mailroom_lease l JOIN mailroom_queue q ON q.id = l.queue_id WHERE q.name = $1`,
        [queue],
      )
    ).map((l: { expires_at: Date }) => l.expires_at.getTime());

  describe(`delivery behaviour: ${name}`, () => {
    beforeAll(async () => {
      front = await makeAdapter();
    });
    afterAll(async () => {
      await front?.close();
    });

    it('takes one message by default and up to max, in FIFO order, each once; acked messages are gone', async () => {
      const queue = await queueWith('fifo', [0, 1, 2, 3, 4]);
      const [first] = await front.receive<number>(queue);
      expect(first.body).toBe(0);
      const rest = await front.receive<number>(queue, { max: 10 });
      expect(rest.map((m) => m.body)).toEqual([1, 2, 3, 4]);
      const got = [first, ...rest];
      expect(got.map((m) => m.sequence)).toEqual([...got.map((m) => m.sequence)].sort((a, b) => a - b));
      expect(got.every((m) => m.deliveryCount === 1)).toBe(true);
      expect(await front.receive(queue)).toEqual([]);
      expect(await front.stats(queue)).toMatchObject({ available: 0, inFlight: 5, delayed: 0, exhausted: 0 });
      expect(
        await front.ack(
          queue,
          got.map((m) => m.receipt),
        ),
      ).toBe(5);
      expect(await front.stats(queue)).toMatchObject({ available: 0, inFlight: 0, delayed: 0, exhausted: 0 });
    });

    it('redelivers after lease expiry with deliveryCount 2; the old receipt is refused and changes nothing', async () => {
      const queue = await queueWith('expiry', ['job']);
      const [first] = await front.receive(queue, { consumer: 'slow', leaseMs: 300 });
      const [second] = await front.receive(queue, { consumer: 'fast', waitMs: 5_000 });
      expect(second).toMatchObject({ id: first.id, deliveryCount: 2 });
      expect(await staleOf(front.ack(queue, [first.receipt]))).toEqual([first.receipt]);
      expect(await staleOf(front.nack(queue, [first.receipt]))).toEqual([first.receipt]);
      expect(await staleOf(front.extend(queue, [first.receipt], 1_000))).toEqual([first.receipt]);
      expect(await attempts(queue)).toEqual({ attempts: 1, delivery_count: 2 });
      expect(await front.ack(queue, [second.receipt])).toBe(1);
    });

    it('refuses a batch with an already acked receipt, naming it, and changes nothing', async () => {
      const queue = await queueWith('acked-in-batch', [1, 2, 3]);
      const [a, b] = await front.receive(queue, { consumer: 'w', max: 2 });
      await front.ack(queue, [a.receipt]);
      expect(await staleOf(front.ack(queue, [a.receipt, b.receipt]))).toEqual([a.receipt]);
      expect(await staleOf(front.receive(queue, { consumer: 'w', ack: [a.receipt, b.receipt] }))).toEqual([a.receipt]);
      expect(await front.stats(queue)).toMatchObject({ available: 1, inFlight: 1 });
      const [c] = await front.receive(queue, { consumer: 'w', ack: [b.receipt] });
      expect(c.body).toBe(3);
    });

    it('refuses the receipt of an earlier delivery for every settlement, changing nothing', async () => {
      const queue = await queueWith('earlier', ['redelivered', 'other']);
      const [first, other] = await front.receive(queue, { max: 2 });
      await front.nack(queue, [first.receipt], { delayMs: 0 });
      const [second] = await front.receive(queue);
      expect(second).toMatchObject({ id: first.id, deliveryCount: 2 });
      const stale = {
        ack: () => front.ack(queue, [first.receipt]),
        nack: () => front.nack(queue, [first.receipt]),
        extend: () => front.extend(queue, [first.receipt], 60_000),
        'ack with a live receipt': () => front.ack(queue, [other.receipt, first.receipt]),
        'receive with ack': () => front.receive(queue, { ack: [first.receipt] }),
      };
      for (const [action, settle] of Object.entries(stale))
        expect(await staleOf(settle()), action).toEqual([first.receipt]);
      expect(await front.stats(queue)).toMatchObject({ available: 0, inFlight: 2 });
      expect(await front.ack(queue, [second.receipt, other.receipt])).toBe(2);
    });

    it('names only the stale receipt when a batch holds the old and the new receipt of one message', async () => {
      const queue = await queueWith('old-and-new', [1]);
      const [old] = await front.receive(queue, { consumer: 'a', leaseMs: 100 });
      const [current] = await front.receive(queue, { consumer: 'b', waitMs: 3_000 });
      expect(await staleOf(front.ack(queue, [old.receipt, current.receipt]))).toEqual([old.receipt]);
    });

    it('keeps a delivery alive past its first deadline while it is extended', async () => {
      const queue = await queueWith('extended', [1]);
      const [m] = await front.receive(queue, { consumer: 'worker', leaseMs: 600 });
      let deadline = m.leaseExpiresAt.getTime();
      // Extend whenever the lease has 400 ms left, until it has outlived its first deadline by a lease.
      while (Date.now() < m.leaseExpiresAt.getTime() + 600) {
        await until(() => Date.now() >= deadline - 400);
        const leaseExpiresAt = await front.extend(queue, [m.receipt], 600);
        expect(leaseExpiresAt.getTime()).toBeGreaterThan(Date.now());
        deadline = leaseExpiresAt.getTime();
      }
      expect(await front.receive(queue, { consumer: 'other' })).toEqual([]);
      const before = Date.now();
      expect((await front.extend(queue, [m.receipt], 120_000)).getTime() - before).toBeGreaterThan(110_000);
      expect(await front.ack(queue, [m.receipt])).toBe(1);
    });

    it('nack spends an attempt; the message returns after delayMs, by default after the retry policy', async () => {
      const queue = await queueWith('nacked', ['later', 'by policy', 'now']);
      const [later, byPolicy, now] = await front.receive(queue, { max: 3 });
      expect(await front.nack(queue, [later.receipt], { delayMs: 300, reason: 'boom' })).toBe(1);
      await front.nack(queue, [byPolicy.receipt]);
      await front.nack(queue, [now.receipt], { delayMs: 0 });
      expect(await front.stats(queue)).toMatchObject({ available: 1, delayed: 2, inFlight: 0 });
      const [again] = await front.receive(queue);
      expect(again).toMatchObject({ id: now.id, body: 'now', deliveryCount: 2 });
      const [retried] = await front.receive(queue, { waitMs: 3_000 });
      expect(retried).toMatchObject({ id: later.id, deliveryCount: 2 });
      expect(await attempts(queue)).toEqual({ attempts: 1, delivery_count: 2 });
    });

    it('nack with deadLetter moves the message to the dead-letter queue at once', async () => {
      const queue = await queueWith('poison', ['poison']);
      const [message] = await front.receive(queue);
      expect(await front.nack(queue, [message.receipt], { deadLetter: true })).toBe(1);
      expect(await front.stats(queue)).toMatchObject({ available: 0, delayed: 0, inFlight: 0 });
      const [dead] = await front.receive(`${queue}.dlq`);
      expect(dead.body).toBe('poison');
    });

    it('acks with the next receive: settles the batch and claims more in one call', async () => {
      const queue = await queueWith('ack-next', [1, 2, 3, 4]);
      const first = await front.receive(queue, { consumer: 'w', max: 2 });
      const next = await front.receive(queue, { consumer: 'w', max: 2, ack: first.map((m) => m.receipt) });
      expect(next.map((m) => m.body)).toEqual([3, 4]);
      expect(await front.stats(queue)).toMatchObject({ available: 0, inFlight: 2 });
      expect(await staleOf(front.ack(queue, [first[0].receipt]))).toEqual([first[0].receipt]);
      expect(await front.receive(queue, { consumer: 'w', ack: next.map((m) => m.receipt) })).toEqual([]);
      expect(await front.stats(queue)).toMatchObject({ available: 0, inFlight: 0 });
    });

    it('holds a group back while its earlier message waits for a retry', async () => {
      const queue = await queueWith('grouped-retry', [], { ordering: 'grouped' });
      await front.sendBatch(queue, [
        { body: 'a1', groupKey: 'a' },
        { body: 'a2', groupKey: 'a' },
        { body: 'b1', groupKey: 'b' },
      ]);
      const first = await front.receive(queue, { max: 10 });
      expect(first.map((m) => m.body)).toEqual(['a1', 'b1']);
      await front.nack(queue, [first[0].receipt], { delayMs: 300 });
      await front.ack(queue, [first[1].receipt]);
      expect(await front.receive(queue, { max: 10 })).toEqual([]);
      const retried = await front.receive(queue, { max: 10, waitMs: 3_000 });
      expect(retried.map((m) => m.body)).toEqual(['a1']);
    });

    it('delivers an exclusive queue to one consumer at a time and fails over when its lease expires', async () => {
      const queue = await queueWith('exclusive', [1, 2, 3, 4], { ordering: 'exclusive' });
      const [first] = await front.receive<number>(queue, { consumer: 'primary', leaseMs: 400 });
      expect(first.body).toBe(1);
      expect(await front.receive(queue, { consumer: 'standby', max: 10 })).toEqual([]);
      // The primary stops heart-beating; once its lease expires the standby takes over from the start.
      const takeover = await front.receive<number>(queue, { consumer: 'standby', max: 10, waitMs: 5_000 });
      expect(takeover.map((m) => m.body)).toEqual([1, 2, 3, 4]);
      expect(takeover[0].deliveryCount).toBe(2);
      expect(await front.receive(queue, { consumer: 'third' })).toEqual([]);
      await front.ack(
        queue,
        takeover.map((m) => m.receipt),
      );
    });

    it.runIf(features.release)('hands an exclusive queue over at once when the holder releases', async () => {
      const queue = await queueWith('exclusive-release', [1, 2], { ordering: 'exclusive' });
      await front.receive(queue, { consumer: 'holder' });
      await front.release!(queue, 'holder');
      const next = await front.receive<number>(queue, { consumer: 'next', max: 10 });
      expect(next.map((m) => m.body)).toEqual([1, 2]);
    });

    it('long-polls: a message sent while a receive waits is returned by that receive', async () => {
      const queue = await queueWith('long-poll');
      // Both fronts run the library in this process (the broker in-process): wait until the
      // receive made its first, empty claim, so the send lands during the wait.
      const polls = watchLongPolls();
      const polling = front.receive(queue, { waitMs: 15_000 });
      await until(() => polls.waiting(queue) >= 1).finally(polls.stop);
      await front.sendBatch(queue, [{ body: 'wake' }]);
      expect((await polling).map((m) => m.body)).toEqual(['wake']);
    });

    it('long-polls until waitMs when nothing arrives', async () => {
      const queue = await queueWith('empty-poll');
      const started = Date.now();
      expect(await front.receive(queue, { waitMs: 500 })).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    });

    it("redelivers a crashed client's messages to a sibling polling under the same consumer name", async () => {
      const queue = await queueWith('siblings', [1, 2, 3, 4, 5]);
      const crashed = await front.receive(queue, { consumer: 'replica', max: 5, leaseMs: 1_000 });
      expect(crashed).toHaveLength(5);
      // The sibling's empty polls, past half of the crashed client's lease, leave its deadline where it was.
      for (let i = 0; i < 3; i += 1) {
        expect(await front.receive(queue, { consumer: 'replica', waitMs: 200, leaseMs: 1_000 })).toEqual([]);
      }
      expect(await leaseDeadlines(queue)).toEqual([crashed[0].leaseExpiresAt.getTime()]);
      const redelivered = new Map<string, Delivery>();
      await until(async () => {
        for (const m of await front.receive(queue, { consumer: 'replica', max: 10, waitMs: 200, leaseMs: 1_000 })) {
          redelivered.set(m.id, m);
        }
        return crashed.every((m) => redelivered.has(m.id));
      }, 15_000);
      expect([...redelivered.values()].map((m) => [m.id, m.deliveryCount]).sort()).toEqual(
        crashed.map((m) => [m.id, 2]).sort(),
      );
      expect(
        await front.ack(
          queue,
          [...redelivered.values()].map((m) => m.receipt),
        ),
      ).toBe(5);
    });
  });
}
