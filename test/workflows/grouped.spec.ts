import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { MailroomClient, Workflow, Workflows } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

type Note = { key: string; n: number };

/** Records the order its NOTE events arrive in. */
const ledger = setup({
  types: { context: {} as { seen: number[] }, events: {} as { type: 'NOTE'; n: number } },
}).createMachine({
  id: 'ledger',
  initial: 'open',
  context: { seen: [] },
  states: { open: { on: { NOTE: { actions: assign({ seen: ({ context, event }) => [...context.seen, event.n] }) } } } },
});

@Workflow(ledger, {
  correlate: { NOTE: { from: 'ledger-notes', key: (m: Note) => m.key, start: true } },
  concurrency: 8,
})
@Injectable()
class LedgerWorkflow {}

let db: TestDatabase;
let app: INestApplicationContext;
let client: MailroomClient;
let workflows: Workflows;

beforeAll(async () => {
  db = await createTestDatabase();
  const setupApp = await startNestApp(db.url, []);
  await setupApp.get(MailroomClient).createQueue('ledger-notes', { ordering: 'grouped' });
  await setupApp.close();
  app = await startNestApp(db.url, [LedgerWorkflow]);
  client = app.get(MailroomClient);
  workflows = app.get(Workflows);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const seen = async (key: string) => {
  const instance = await workflows.get(LedgerWorkflow, key).catch(() => null);
  return (instance?.snapshot as { context?: { seen: number[] } } | undefined)?.context?.seen ?? [];
};

describe('a correlated queue grouped by key', () => {
  it('applies different keys in parallel and each key’s events in arrival order', async () => {
    const keys = Array.from({ length: 6 }, () => randomUUID());
    const notes = keys.flatMap((key) => Array.from({ length: 15 }, (_, n) => ({ key, n })));
    // Interleaved, one batch per round: every key's notes in order, the keys mixed.
    for (let n = 0; n < 15; n++) {
      await client.sendBatch(
        'ledger-notes',
        notes.filter((note) => note.n === n).map((body) => ({ body: { ...body, type: 'NOTE' }, groupKey: body.key })),
      );
    }
    // Note 0 starts the instance (its input); 1 to 14 are its events.
    for (const key of keys) await until(async () => (await seen(key)).length === 14);
    for (const key of keys) expect(await seen(key)).toEqual(Array.from({ length: 14 }, (_, n) => n + 1));
  });

  it('dead-letters a message without a group key: it has no order to keep', async () => {
    const key = randomUUID();
    const { id } = await client.send('ledger-notes', { type: 'NOTE', key, n: 0 });
    await until(async () => (await client.listDeadLetters('ledger-notes')).deadLetters.some((d) => d.id === id));
    const dead = (await client.listDeadLetters('ledger-notes')).deadLetters.find((d) => d.id === id)!;
    expect(dead.error).toMatch(/has no group key/);
    expect(await seen(key)).toEqual([]);
  });
});
