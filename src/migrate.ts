import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { loadConfig } from './config';
import { openBrokerDatabase } from './database/broker-database';
import { dataSourceOptions } from './database/data-source-options';
import { exitOnSignal } from './shutdown';

/** `npm run migration:run`: applies pending migrations to the broker's database, then exits. */
async function migrate(): Promise<void> {
  const logger = new Logger('Migrate');
  const database = await openBrokerDatabase(loadConfig());
  // Interrupted, the migration transaction rolls back; an embedded server must not outlive us.
  exitOnSignal(() => database.stop());
  try {
    const dataSource = await new DataSource(dataSourceOptions(database.url, false)).initialize();
    try {
      const applied = await dataSource.runMigrations({ transaction: 'all' });
      logger.log(
        applied.length === 0
          ? 'No pending migrations'
          : `Applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`,
      );
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await database.stop();
  }
}

migrate().then(
  () => process.exit(0),
  (error: unknown) => {
    new Logger('Migrate').error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
