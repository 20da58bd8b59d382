import { Logger } from '@nestjs/common';
import type { BrokerConfig } from '../config';
import { startEmbeddedPostgres } from './embedded-postgres';

/** The database the broker runs on; `stop` ends the embedded server if the broker started one. */
export interface BrokerDatabase {
  url: string;
  stop(): Promise<void>;
}

/** DATABASE_URL when given; otherwise an embedded PostgreSQL, so trying the broker needs no server. */
export async function openBrokerDatabase(config: BrokerConfig): Promise<BrokerDatabase> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => undefined };
  const logger = new Logger('EmbeddedPostgres');
  const server = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.pgPort });
  logger.log(`No DATABASE_URL: started embedded PostgreSQL on 127.0.0.1:${server.port}, data in ${server.dataDir}`);
  return {
    url: server.url,
    async stop() {
      await server.stop();
      logger.log('Embedded PostgreSQL stopped');
    },
  };
}
