import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { createBrokerApp } from '../src/app.factory';
import { loadConfig } from '../src/config';
import { keepHeapTight } from '../src/heap';

/**
 * The broker app for the REST bench, run as a child process: like src/main.ts, but bound to
 * the loopback address on an ephemeral port, which it reports on stdout as `LISTENING <port>`.
 * Ends gracefully (leases released) on SIGTERM. Its heap is kept as tight as main.ts keeps it.
 */
async function main(): Promise<void> {
  keepHeapTight();
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is required');
  const app = await createBrokerApp({
    databaseUrl,
    migrate: true,
    maxRequestBytes: 64 * 1024 * 1024,
    // As the broker runs by default: keys (MAILROOM_ADMIN_KEY from the bench) and rate limits.
    auth: loadConfig().auth,
    nest: { logger: ['error', 'warn'] },
  });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  process.stdout.write(`LISTENING ${port}\n`);
  process.once('SIGTERM', () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
