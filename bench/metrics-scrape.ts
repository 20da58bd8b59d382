/**
 * What a Prometheus scrape of MailroomMetrics costs with 1,000,000 messages in one queue
 * (inserted by one SQL statement). Not part of the suite; run by hand:
 *   npm run build && DATABASE_URL=postgres://… node dist/bench/metrics-scrape.js
 * Prints the first scrape (reads the depth: one pass over the messages), the next ones
 * (served from the figures of the last read) and scrapes after the interval passed.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { Registry } from 'prom-client';
import { MailroomClient, MailroomMetrics, mailroomEntities } from '@mailroom/core';
import { createTestDatabase } from '@mailroom/core/testing';

const MESSAGES = 1_000_000;
const INTERVAL_MS = 2_000;
const settle = () => new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));

async function main(): Promise<void> {
  const db = await createTestDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const dataSource = await new DataSource({ type: 'postgres', url: db.url, entities: mailroomEntities }).initialize();
  const client = new MailroomClient(dataSource, {});
  try {
    await client.createQueue('big');
    const fill = performance.now();
    await dataSource.query(
      `INSERT INTO mailroom_message (seq, queue_id, id, body, visible_at)
       SELECT g, (SELECT id FROM mailroom_queue WHERE name = 'big'), gen_random_uuid(), '{"n":1}', now()
         FROM generate_series(1, $1) g`,
      [MESSAGES],
    );
    await dataSource.query('VACUUM ANALYZE mailroom_message');
    console.log(`inserted ${MESSAGES} messages in ${Math.round(performance.now() - fill)} ms`);
    const metrics = new MailroomMetrics(client, { registry: new Registry(), depthIntervalMs: INTERVAL_MS });
    const scrape = async (label: string) => {
      const started = performance.now();
      const text = await metrics.registry.metrics();
      const depth = text.match(/mailroom_queue_messages\{queue="big",state="available"\} (\d+)/)?.[1];
      console.log(`${label}: ${(performance.now() - started).toFixed(1)} ms (available ${depth})`);
    };
    await scrape('first scrape (reads depth)');
    for (let i = 1; i <= 5; i += 1) await scrape(`scrape ${i} within the interval`);
    await settle();
    await scrape('scrape after the interval (last figures; starts a read)');
    await settle();
    await scrape('scrape after that read');
    metrics.onModuleDestroy();
  } finally {
    await dataSource.destroy();
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
