import type { ClientConfig } from 'pg';
import type { DataSource } from 'typeorm';

/** Connection settings for Mailroom's own LISTEN connection, taken from the app's DataSource. */
export function pgConfigOf(dataSource: DataSource): ClientConfig {
  const options = dataSource.options as {
    type: string;
    url?: string;
    host?: string;
    port?: number;
    username?: string;
    password?: string | (() => string | Promise<string>);
    database?: string;
    ssl?: ClientConfig['ssl'];
  };
  if (options.type !== 'postgres') {
    throw new Error(`Mailroom needs a PostgreSQL DataSource (type "postgres"), got "${options.type}".`);
  }
  return {
    connectionString: options.url,
    host: options.host,
    port: options.port,
    user: options.username,
    password: options.password,
    database: options.database,
    ssl: options.ssl,
  };
}
