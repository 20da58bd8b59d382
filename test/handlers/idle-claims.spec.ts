import { Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { afterAll, expect, it, vi } from 'vitest';
import { OnMessage } from '@mailroom/core';
import { databaseWithClient } from '../support/database';
import { watchLongPolls } from '../support/long-polls';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

const setup = databaseWithClient();
const polls = watchLongPolls();
afterAll(() => polls.stop());

it('handles messages that come one at a time with two statements each: the claim that delivers, and the ack (alone or carried by a claim)', async () => {
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
  let statements = 0;
  const query = Client.prototype.query;
  const spy = vi.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string };
    const text = typeof config === 'string' ? config : (config?.text ?? '');
    // The consumer's claims (the walk of claim.sql.ts) and acks, with or without a claim.
    if (text.includes('FOR UPDATE OF m SKIP LOCKED') || text.includes('USING held')) statements += 1;
    return (query as (...a: unknown[]) => unknown).apply(this, args) as never;
  });
  try {
    await until(() => polls.waiting('one-at-a-time') === 1);
    statements = 0;
    for (let i = 0; i < 10; i += 1) {
      await setup.client.send('one-at-a-time', i);
      // Handled, its ack carried by a claim, and the consumer waiting again: the next send finds it idle.
      await until(() => seen.length === i + 1 && polls.waiting('one-at-a-time') === 1);
    }
    // Without the wait that follows a claim that came back short, each message took three:
    // the next long poll began with a claim of its own, which found nothing.
    expect(statements).toBe(2 * 10);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    spy.mockRestore();
    await app.close();
  }
});
