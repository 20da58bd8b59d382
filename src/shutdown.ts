import { Logger } from '@nestjs/common';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * On SIGINT or SIGTERM, runs `close` once and exits. Nest's enableShutdownHooks is not
 * used: it re-raises the signal as soon as the app has closed, which would kill the
 * process before the embedded PostgreSQL is stopped; `close` does both, in order.
 * A second signal while closing exits at once.
 */
export function exitOnSignal(close: () => Promise<void>): void {
  const logger = new Logger('Shutdown');
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn(`${signal} again: exiting without finishing shutdown`);
      process.exit(1);
    }
    closing = true;
    logger.log(`${signal}: shutting down`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`Shutdown failed: ${error}`, error instanceof Error ? error.stack : undefined);
        process.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
}
