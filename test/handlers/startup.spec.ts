import { Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { MailroomClient, OnMessage } from '@mailroom/core';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

let db: TestDatabase;
let producer: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  producer = await startClient(db.dataSource);
});
afterAll(async () => {
  await producer?.close();
  await db?.drop();
});

/** The statements every pooled and listening connection sends while `work` runs. */
async function statementsDuring(work: () => Promise<void>): Promise<string[]> {
  const sent: string[] = [];
  const query = Client.prototype.query;
  const spy = vi.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string };
    sent.push(typeof config === 'string' ? config : (config?.text ?? ''));
    return (query as (...a: unknown[]) => unknown).apply(this, args) as never;
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return sent;
}

it("starts consuming a backlog without counting the queue's messages (start-up costs nothing per waiting message)", async () => {
  await producer.createQueue('backlogged');
  await producer.sendBatch(
    'backlogged',
    Array.from({ length: 300 }, (_, n) => ({ body: n })),
  );
  const seen = new Set<number>();
  @Injectable()
  class Handler {
    @OnMessage('backlogged')
    handle(body: number) {
      seen.add(body);
    }
  }
  let app: Awaited<ReturnType<typeof startNestApp>> | undefined;
  const sent = await statementsDuring(async () => {
    app = await startNestApp(db.url, [Handler]);
    await app.init();
    await until(() => seen.size > 0);
  });
  try {
    await until(() => seen.size === 300);
    // The statements of start-up ran (the spy saw the claims), and none of them counted the backlog.
    expect(sent.some((text) => text.includes('mailroom_lease'))).toBe(true);
    expect(sent.filter((text) => /count\(m\.seq\)/.test(text))).toEqual([]);
  } finally {
    await app?.close();
  }
});
