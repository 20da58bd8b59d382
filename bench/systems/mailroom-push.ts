import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { MailroomClient, MailroomModule, OnMessage } from '@mailroom/core';
import type { BenchBody } from '../lib/body';
import { dropSchema, freshSchema, openMailroomDataSource } from '../lib/pg';
import { projectVersion } from '../lib/versions';
import type { BenchSystem, ConsumeOptions, QueueUnderTest, RunInfo } from './system';

const QUEUE = 'bench';

/**
 * Mailroom the way a Nest service uses it: an `@OnMessage` handler started by MailroomModule
 * (push consumer: one claim loop, bounded concurrency, batched acks). The app context is
 * created when the workload starts consuming and closed when it stops, so producing runs
 * without a consumer, as with every other system. Sends go through a MailroomClient.
 */
export const mailroomPushSystem: BenchSystem = {
  id: 'mailroom-push',
  label: 'Mailroom (@OnMessage)',
  store: 'postgres',
  role: 'mailroom',
  describe: () => ({
    version: projectVersion(),
    settings:
      'producer: MailroomClient send/sendBatch; consumer: Nest application context with MailroomModule.forRoot({ dataSource }) ' +
      'and @OnMessage(queue, { concurrency }), every other option at its default (prefetch adaptive from concurrency to 200, ' +
      "at-least-once); W5: @OnMessage(queue, { concurrency, mode: 'exactly-once' }) (transactions take shares of the waiting messages, up to 50)",
  }),
  probe: async () => (typeof OnMessage === 'function' ? null : 'the library has no @OnMessage yet'),
  open: (run) => openPush(run),
};

async function openPush(run: RunInfo): Promise<QueueUnderTest> {
  const schema = `bench_push_${run.tag}`;
  await freshSchema(schema);
  const dataSource = await openMailroomDataSource(schema, 'bench-mailroom-push');
  const producer = new MailroomClient(dataSource);
  await producer.start();
  await producer.createQueue(QUEUE);
  return {
    send: async (body) => void (await producer.send(QUEUE, body)),
    sendBatch: async (bodies) =>
      void (await producer.sendBatch(
        QUEUE,
        bodies.map((body) => ({ body })),
      )),
    consume: async (options) => {
      const app = await startHandlers(dataSource, run, options, false);
      return { stop: () => app.close() };
    },
    // W5: inbox row and ack in one transaction, `batch` messages per transaction.
    consumeExactlyOnce: async (options) => {
      const app = await startHandlers(dataSource, run, options, true);
      return { stop: () => app.close() };
    },
    pending: async () => {
      const { stats } = await producer.getQueue(QUEUE);
      return stats.available + stats.inFlight + stats.delayed + stats.exhausted;
    },
    close: async () => {
      await producer.close();
      await dataSource.destroy();
      await dropSchema(schema);
    },
  };
}

/** A module with one handler; built per run because decorator options are fixed at class definition. */
async function startHandlers(dataSource: DataSource, run: RunInfo, options: ConsumeOptions, exactlyOnce: boolean) {
  // The library's defaults: only the concurrency every system gets is set.
  const { concurrency } = run.settings;
  const mode = exactlyOnce ? ({ mode: 'exactly-once' } as const) : {};

  @Injectable()
  class BenchHandler {
    @OnMessage(QUEUE, {
      consumer: 'bench-push',
      concurrency,
      ...mode,
    })
    handle(body: BenchBody): void {
      options.onMessage(body);
    }
  }

  @Module({ imports: [MailroomModule.forRoot({ dataSource })], providers: [BenchHandler] })
  class BenchModule {}

  const app: INestApplicationContext = await NestFactory.createApplicationContext(BenchModule, {
    logger: ['error', 'warn'],
  });
  await app.init();
  return app;
}
