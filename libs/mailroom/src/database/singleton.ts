import { record } from '../observability/instruments';
import { query } from './transaction';
import type { DataSource, EntityManager } from 'typeorm';

/** Advisory lock keys of the singleton chores (one node at a time runs each). */
export const CHORE_LOCKS = {
  leaseReaper: 0x6d61_0001,
  janitor: 0x6d61_0002,
} as const;

/**
 * Runs `work` in a transaction holding the advisory lock `key`, or not at all if
 * another node holds it. The lock ends with the transaction, so a node that dies
 * mid-chore frees it at once.
 */
export async function asSingleton(
  dataSource: DataSource,
  key: number,
  work: (manager: EntityManager) => Promise<void>,
): Promise<boolean> {
  let ran: [number, number] | null = null;
  const locked = await dataSource.transaction(async (tx) => {
    const [{ locked }] = await query<{ locked: boolean }>(tx, 'SELECT pg_try_advisory_xact_lock($1) AS locked', [key]);
    if (locked) {
      const startedAt = Date.now();
      await work(tx);
      ran = [startedAt, Date.now()];
    }
    return locked as boolean;
  });
  if (ran) record('choreRan', key, ...(ran as [number, number]));
  return locked;
}

/** Runs `tick` every `intervalMs`, one at a time, until stopped; a failing tick is reported and retried next time. */
export class Interval {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private stopped = true;

  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => undefined, this.onError)
        .finally(() => {
          if (!this.stopped) this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }
}
