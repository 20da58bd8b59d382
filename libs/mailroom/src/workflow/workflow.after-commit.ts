import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

type Work = { done: () => void; undone?: () => void };

const registries = new WeakMap<DataSource, AfterCommit>();

/**
 * Work that runs in this process once a transaction has committed, and never if it rolls
 * back: a hint for speed (an activity run at once, a wake-up when a timer falls due),
 * never what a guarantee rests on — each has a durable path that works without it.
 * One per data source, listening to TypeORM's transaction events.
 */
export class AfterCommit {
  private readonly pending = new WeakMap<QueryRunner, Work[]>();

  static of(dataSource: DataSource): AfterCommit {
    let registry = registries.get(dataSource);
    if (!registry) {
      registry = new AfterCommit();
      registries.set(dataSource, registry);
      dataSource.subscribers.push({
        // The broadcast awaits what these return: they return nothing, the work runs later.
        afterTransactionCommit: ({ queryRunner }) => registry!.settle(queryRunner, true),
        // Before: a rollback whose statement fails (connection lost) still drops the work.
        beforeTransactionRollback: ({ queryRunner }) => registry!.settle(queryRunner, false),
      });
    }
    return registry;
  }

  /**
   * Runs `done` after `tx` commits, or `undone` when it rolls back (a savepoint's rollback
   * included); false, and nothing scheduled, when `tx` is in no transaction.
   */
  add(tx: EntityManager, done: () => void, undone?: () => void): boolean {
    const runner = tx.queryRunner;
    if (!runner?.isTransactionActive) return false;
    const list = this.pending.get(runner);
    if (list) list.push({ done, undone });
    else this.pending.set(runner, [{ done, undone }]);
    return true;
  }

  private settle(runner: QueryRunner, committed: boolean): void {
    // A savepoint's release leaves the transaction open: wait for the real commit.
    if (committed && runner.isTransactionActive) return;
    const list = this.pending.get(runner);
    this.pending.delete(runner);
    for (const work of list ?? []) {
      if (committed) setImmediate(work.done);
      else work.undone?.();
    }
  }
}
