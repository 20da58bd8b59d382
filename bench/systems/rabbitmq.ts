import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { BenchBody } from '../lib/body';
import { reachable } from '../lib/pg';
import { packageVersion } from '../lib/versions';
import type { BenchSystem, QueueUnderTest, RunInfo } from './system';

const HOST = '127.0.0.1';
const PORT = 5672;
const URL = `amqp://guest:guest@${HOST}:${PORT}`;
const PREFETCH = 100;

/**
 * RabbitMQ with the settings that make it as durable as a committed Postgres row: a durable
 * queue, persistent messages, and a send that resolves only on the publisher confirm.
 */
export const rabbitmqSystem: BenchSystem = {
  id: 'rabbitmq',
  label: 'RabbitMQ',
  store: 'rabbitmq',
  role: 'peer',
  describe: () => ({
    version: `amqplib ${packageVersion('amqplib')}`,
    settings:
      `durable classic queue, persistent messages, publisher confirms (each send awaits its confirm; a batch ` +
      `publishes then waitForConfirms); consumer on its own connection (as RabbitMQ's docs advise: publishers and ` +
      `consumers on separate connections, so flow control on publishing never stalls deliveries), manual ack per ` +
      `message, prefetch ${PREFETCH}`,
  }),
  probe: async () => {
    if (!(await reachable(HOST, PORT))) return `nothing listens on ${HOST}:${PORT}`;
    const connection = await connect(URL).catch((e: unknown) => e as Error);
    if (connection instanceof Error) return `cannot connect: ${connection.message}`;
    await connection.close();
    return null;
  },
  open: (run) => openRabbit(run),
};

async function openRabbit(run: RunInfo): Promise<QueueUnderTest> {
  const queue = `bench_${run.tag}_${Date.now()}`;
  const connection: ChannelModel = await connect(URL);
  connection.on('error', run.onError);
  const channel: ConfirmChannel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true });
  const publish = (body: BenchBody) =>
    new Promise<void>((resolve, reject) => {
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(body)), { persistent: true }, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  return {
    send: publish,
    sendBatch: async (bodies) => {
      const confirms = bodies.map(publish);
      await channel.waitForConfirms();
      await Promise.all(confirms);
    },
    consume: async (options) => {
      const consumerConnection: ChannelModel = await connect(URL);
      consumerConnection.on('error', run.onError);
      const consumer = await consumerConnection.createChannel();
      await consumer.prefetch(PREFETCH);
      const { consumerTag } = await consumer.consume(
        queue,
        (message) => {
          if (!message) return;
          options.onMessage(JSON.parse(message.content.toString()) as BenchBody);
          consumer.ack(message);
        },
        { noAck: false },
      );
      return {
        async stop() {
          await consumer.cancel(consumerTag);
          await consumer.close();
          await consumerConnection.close();
        },
      };
    },
    // Ready messages; unacked ones are requeued when the consumer's channel closes, so the
    // final check after stop() counts them too.
    pending: async () => (await channel.checkQueue(queue)).messageCount,
    close: async () => {
      await channel.deleteQueue(queue);
      await connection.close();
    },
  };
}
