import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailroomClient, NonRetryableError, OnMessage } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { eventually } from '../support/wait';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('a handler error Postgres cannot store as text', () => {
  it('is settled at once, NUL and lone surrogates stripped from the reason (not left to wait out its lease)', async () => {
    @Injectable()
    class Parser {
      // A lease far longer than the wait below: only the nack can bury the message in time.
      @OnMessage('parse', { queueOptions: { leaseMs: 600_000 } })
      handle() {
        throw new NonRetryableError('bad\u0000byte \ud800here');
      }
    }
    const app = await startNestApp(db.url, [Parser]);
    const client = app.get(MailroomClient);
    const { id } = await client.send('parse', {});
    const buried = await eventually(
      () => client.getDeadLetter('parse', id),
      (letter) => letter !== null,
    );
    await app.close();
    expect(buried?.error).toBe('badbyte here');
  });
});
