import { ConsoleLogger, Injectable, Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MailroomClient,
  MailroomEvents,
  NonRetryableError,
  OnMailroomEvent,
  OnMessage,
  type HandlerFailure,
} from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

let db: TestDatabase;
const errors: string[] = [];

/** Nest's Logger, captured: what an operator would read. */
class CapturingLogger extends ConsoleLogger {
  error(message: unknown) {
    errors.push(String(message));
  }
  warn() {}
}

beforeAll(async () => {
  db = await createTestDatabase();
  Logger.overrideLogger(new CapturingLogger());
});
afterAll(async () => {
  Logger.overrideLogger(new ConsoleLogger());
  await db?.drop();
});

describe('handler failures', () => {
  it('are logged with queue, message id, attempt and error, and emitted as failed / dead-lettered events', async () => {
    const failed: HandlerFailure[] = [];
    const buried: HandlerFailure[] = [];
    @Injectable()
    class Payments {
      @OnMessage('payments', { retry: { strategy: 'fixed', delayMs: 0 }, queueOptions: { maxDeliveries: 2 } })
      handle(body: { bad: boolean }) {
        throw body.bad ? new NonRetryableError('no such card') : new Error('gateway timeout');
      }

      @OnMailroomEvent('dead-lettered')
      onDeadLettered(failure: HandlerFailure) {
        buried.push(failure);
      }
    }
    const app = await startNestApp(db.url, [Payments]);
    app.get(MailroomEvents).on('failed', (failure) => failed.push(failure));
    const client = app.get(MailroomClient);
    const flaky = await client.send('payments', { bad: false });
    await until(() => failed.length === 2);
    const rejected = await client.send('payments', { bad: true });
    await until(() => failed.length === 3);
    await app.close();

    const brief = (f: HandlerFailure) => [
      f.queue,
      f.consumer,
      f.messageId,
      f.attempt,
      f.outcome,
      (f.error as Error).message,
    ];
    expect(failed.map(brief)).toEqual([
      ['payments', 'Payments.handle', flaky.id, 1, 'retry', 'gateway timeout'],
      ['payments', 'Payments.handle', flaky.id, 2, 'dead-lettered', 'gateway timeout'],
      ['payments', 'Payments.handle', rejected.id, 1, 'dead-lettered', 'no such card'],
    ]);
    expect(buried.map((f) => f.messageId)).toEqual([flaky.id, rejected.id]);
    expect(errors.filter((line) => line.includes(flaky.id))).toEqual([
      `handler failed on queue "payments", message ${flaky.id}, attempt 1 (will be retried): gateway timeout`,
      `handler failed on queue "payments", message ${flaky.id}, attempt 2 (dead-lettered): gateway timeout`,
    ]);
  });

  it('are logged at a limited rate: a burst of poison messages does not flood the log', async () => {
    let events = 0;
    @Injectable()
    class Poisoned {
      @OnMessage('poisoned', { concurrency: 4 })
      handle() {
        throw new NonRetryableError('poison');
      }
    }
    const app = await startNestApp(db.url, [Poisoned]);
    app.get(MailroomEvents).on('failed', () => (events += 1));
    await app.get(MailroomClient).sendBatch(
      'poisoned',
      Array.from({ length: 30 }, (_, i) => ({ body: i })),
    );
    await until(() => events === 30);
    await app.close();
    const lines = errors.filter((line) => line.includes('"poisoned"'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(30);
  });
});
