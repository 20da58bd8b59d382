#!/usr/bin/env node
import { Logger, type INestApplication } from '@nestjs/common';
import { createBrokerApp } from './app.factory';
import { loadConfig } from './config';
import { openBrokerDatabase, type BrokerDatabase } from './database/broker-database';
import { keepHeapTight } from './heap';
import { brokerLogger } from './logging/broker.logger';
import { exitOnSignal } from './shutdown';

async function bootstrap(): Promise<void> {
  keepHeapTight();
  const logs = brokerLogger();
  Logger.overrideLogger(logs);
  const logger = new Logger('Broker');
  const config = loadConfig();
  let database: BrokerDatabase | undefined;
  let app: INestApplication | undefined;
  // Listening before anything starts, so a signal at any point still stops what did start.
  // The app closes first: Mailroom releases its leases while the database is still there.
  exitOnSignal(async () => {
    await app?.close();
    await database?.stop();
  });
  database = await openBrokerDatabase(config);
  try {
    app = await createBrokerApp({ ...config, databaseUrl: database.url, nest: { logger: logs }, requestLog: logs });
    // HOST: 127.0.0.1 unless set, so a broker is not reachable from the network by accident.
    await app.listen(config.port, config.host);
  } catch (error) {
    await app?.close().catch(() => undefined);
    await database.stop();
    throw error;
  }
  logger.log(`Listening on http://localhost:${config.port === 0 ? port(app) : config.port} (API /v1, docs /docs)`);
}

function port(app: INestApplication): number {
  return (app.getHttpServer().address() as { port: number }).port;
}

bootstrap().catch((error: unknown) => {
  new Logger('Broker').error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
