import { Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { afterAll, expect, it, vi } from 'vitest';
import { OnMessage } from '@mailroom/core';
import { resolveConsumerSpec } from '@mailroom/core/handlers/handler.options';
import { PushConsumer } from '@mailroom/core/handlers/push.consumer';
import { servicesOf } from '@mailroom/core/services/mailroom.services';
import { databaseWithClient } from '../support/database';
import { watchLongPolls } from '../support/long-polls';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

const setup = databaseWithClient({ pollIntervalMs: 60_000 });
const polls = watchLongPolls();
afterAll(() => polls.stop());

/** Counts, from now on, the consumers' claims (the walk of claim.sql.ts) and acks, with or without a claim. */
function countStatements(): { readonly claims: number; readonly acks: number; reset(): void; restore(): void } {
  const counts = { claims: 0, acks: 0 };
  const query = Client.prototype.query;
  const spy = vi.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string };
    const text = typeof config === 'string' ? config : (config?.text ?? '');
    if (text.includes('FOR UPDATE OF m SKIP LOCKED')) counts.claims += 1;
    else if (text.includes('USING held')) counts.acks += 1;
    return (query as (...a: unknown[]) => unknown).apply(this, args) as never;
  });
  return {
    get claims() {
      return counts.claims;
    },
    get acks() {
      return counts.acks;
    },
    reset: () => Object.assign(counts, { claims: 0, acks: 0 }),
    restore: () => spy.mockRestore(),
  };
}

it('handles messages that come one at a time with two statements each: the claim that delivers, and the ack', async () => {
  await setup.client.createQueue('one-at-a-time');
  const seen: number[] = [];
  @Injectable()
  class Handler {
    // Ten slots, as a consumer of modest handlers has: a claim that brings one message asked
    // for more and came back short. (With one slot, a claim asks for one and cannot tell.)
    @OnMessage('one-at-a-time', { concurrency: 10 })
    handle(body: number) {
      seen.push(body);
    }
  }
  // A poll so slow that every statement counted below answers a send or a handler's ack.
  const app = await startNestApp(setup.db.url, [Handler], { pollIntervalMs: 60_000 });
  await app.init();
  const statements = countStatements();
  try {
    await until(() => polls.waiting('one-at-a-time') === 1);
    statements.reset();
    for (let i = 0; i < 10; i += 1) {
      await setup.client.send('one-at-a-time', i);
      // Handled, its ack sent once its hold ran out, and the consumer waiting again: the next send finds it idle.
      await until(async () => seen.length === i + 1 && (await setup.client.getQueue('one-at-a-time')).stats.inFlight === 0);
      await until(() => polls.waiting('one-at-a-time') === 1);
    }
    // Without the wait that follows a claim that came back short, each message took three:
    // the next long poll began with a claim of its own, which found nothing.
    expect({ claims: statements.claims, acks: statements.acks }).toEqual({ claims: 10, acks: 10 });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    statements.restore();
    await app.close();
  }
});

it('claims messages that come one at a time with claims that carry no acks, and acks them together once drained', async () => {
  const queue = 'acks-wait-together';
  await setup.client.createQueue(queue);
  const seen: number[] = [];
  const spec = resolveConsumerSpec({ concurrency: 10 }, 'Test.acksTogether', false);
  // A hold longer than the test: every ack waits, and stop() sends what waits.
  const consumer = new PushConsumer(servicesOf(setup.client), queue, spec, (body) => void seen.push(body as number), {
    ackHoldMs: 600_000,
  });
  consumer.start(30_000);
  let stopped: Promise<void> | null = null;
  const statements = countStatements();
  try {
    await until(() => polls.waiting(queue) === 1);
    statements.reset();
    for (let i = 0; i < 5; i += 1) {
      await setup.client.send(queue, i);
      await until(() => seen.length === i + 1 && polls.waiting(queue) === 1); // handled; waiting again
    }
    // Each message came in a bare claim (a claim carrying acks is slower: the latency of the
    // next message); their acks still wait, for one statement between them.
    expect({ claims: statements.claims, acks: statements.acks }).toEqual({ claims: 5, acks: 0 });
    expect((await setup.client.getQueue(queue)).stats.inFlight).toBe(5);
    await (stopped = consumer.stop());
    expect({ claims: statements.claims, acks: statements.acks }).toEqual({ claims: 5, acks: 1 });
    expect((await setup.client.getQueue(queue)).stats.inFlight).toBe(0);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  } finally {
    statements.restore();
    await (stopped ?? consumer.stop());
  }
});
