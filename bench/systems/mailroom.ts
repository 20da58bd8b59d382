import { MailroomClient, type ReceivedMessage } from '@mailroom/core';
import type { BenchBody } from '../lib/body';
import { dropSchema, freshSchema, openMailroomDataSource } from '../lib/pg';
import { startPullLoop, type PullSource } from '../lib/pull';
import { projectVersion } from '../lib/versions';
import type { BenchSystem, QueueUnderTest, RunInfo } from './system';

const QUEUE = 'bench';
const CONSUMER = 'bench';
/** Long-poll wait of each receive: wake-ups come by NOTIFY, this only bounds an idle call. */
const WAIT_MS = 1_000;

/**
 * Mailroom as a library: MailroomClient on a TypeORM DataSource whose schema is fresh per run.
 * Consumers are pull loops over receive + ack (the library has no push-handler API yet); a
 * push variant belongs beside this one as its own system once `@OnMessage` consumers exist.
 */
export const mailroomSystem: BenchSystem = {
  id: 'mailroom',
  label: 'Mailroom (library)',
  store: 'postgres',
  role: 'mailroom',
  describe: () => ({
    version: projectVersion(),
    settings:
      'TypeORM DataSource (pg pool max 10, the default); send/sendBatch; consumers: `concurrency` loops of ' +
      `receive({ consumer: '${CONSUMER}', max: batch, waitMs: ${WAIT_MS}, ack: <the previous batch's receipts> }) ` +
      '(the ack rides on the next receive: one statement per batch); queue defaults',
  }),
  probe: async () => null,
  open: (run) => openMailroom(run),
};

async function openMailroom(run: RunInfo): Promise<QueueUnderTest> {
  const schema = `bench_mailroom_${run.tag}`;
  await freshSchema(schema);
  const dataSource = await openMailroomDataSource(schema, 'bench-mailroom');
  const client = new MailroomClient(dataSource);
  try {
    await client.start();
    await client.createQueue(QUEUE);
  } catch (error) {
    await client.close().catch(() => undefined);
    await dataSource.destroy();
    throw error;
  }
  const { concurrency, batch } = run.settings;
  const source: PullSource<ReceivedMessage<BenchBody>> = {
    receive: (signal) => client.receive<BenchBody>(QUEUE, { consumer: CONSUMER, max: batch, waitMs: WAIT_MS, signal }),
    settleAndReceive: (done, signal) =>
      client.receive<BenchBody>(QUEUE, {
        consumer: CONSUMER,
        max: batch,
        waitMs: WAIT_MS,
        signal,
        ack: done.map((m) => m.receipt),
      }),
    body: (m) => m.body,
    settle: async (messages) => {
      await client.ack(
        QUEUE,
        messages.map((m) => m.receipt),
      );
    },
  };
  return {
    send: async (body) => {
      await client.send(QUEUE, body);
    },
    sendBatch: async (bodies) => {
      await client.sendBatch(
        QUEUE,
        bodies.map((body) => ({ body })),
      );
    },
    consume: async (options) => startPullLoop(source, concurrency, options, run.onError),
    // W5 (exactly-once handlers): not in the library yet. When it is, implement
    // consumeExactlyOnce here with the library's exactly-once consumer mode.
    pending: async () => {
      const { stats } = await client.getQueue(QUEUE);
      return stats.available + stats.inFlight + stats.delayed + stats.exhausted;
    },
    close: async () => {
      await client.close();
      await dataSource.destroy();
      await dropSchema(schema);
    },
  };
}
