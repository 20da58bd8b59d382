import { Not, type DataSource, type EntityManager } from 'typeorm';
import type { ActorStore } from '../actor/actor.store';
import type { ActorAnnouncement } from '../database/channels';
import { inTransaction, query } from '../database/transaction';
import {
  InvalidRequestError,
  InvalidTransitionError,
  QueueDeletedError,
  QueueNotFoundError,
} from '../errors/mailroom.errors';
import { queueActor } from './queue.actor';
import { QueueEntity } from './queue.entity';
import type { QueueContext, QueueEvent } from './queue.machine';
import { assertName } from '../errors/validate';
import { defaultDeadLetterQueue, queueDefaults, resolveQueueOptions, type QueueOptions } from './queue.options';
import {
  DEAD_LETTER_DEPENDENTS_SQL,
  DELETE_DEDUP_SQL,
  DELETE_MESSAGES_BATCH_SQL,
  LARGEST_MESSAGE_BYTES_SQL,
  PURGE_SQL,
  QUEUE_STATS_SQL,
  toStats,
  type QueueStats,
} from './queue.sql';

export interface QueueInfo {
  name: string;
  state: 'active' | 'paused';
  options: QueueOptions;
  stats: QueueStats;
}

/** What the hot paths need of a queue, cached per node and dropped when the actor changes. */
export interface QueueRef {
  id: number;
  name: string;
  state: string;
  options: QueueOptions;
}

const DELETE_BATCH = 5_000;

/** Queue administration (the actor's events) and the node's cache of live queues. */
export class QueueService {
  private readonly refs = new Map<string, QueueRef>();
  private largest: Promise<number> | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly actors: ActorStore,
  ) {}

  /** Creates the queue, or reconfigures it; `created` says which. */
  async upsert(name: string, input: unknown, manager?: EntityManager): Promise<{ queue: QueueInfo; created: boolean }> {
    assertName(name);
    const joined = manager?.queryRunner?.isTransactionActive;
    try {
      // One transaction: a change refused after its default DLQ was created leaves no DLQ behind.
      return await inTransaction(this.dataSource, manager, (tx) => this.write(name, input, tx));
    } catch (error) {
      // Another node created it between our look-up and insert: theirs stands, ours configures it.
      if ((error as { code?: string }).code !== '23505' || joined) throw error;
      return this.upsert(name, input, manager);
    }
  }

  private async write(
    name: string,
    input: unknown,
    tx: EntityManager,
  ): Promise<{ queue: QueueInfo; created: boolean }> {
    const existing = await this.find(name, tx);
    const options = resolveQueueOptions(name, input, existing ? optionsOf(existing) : undefined);
    const deadLetterQueueId = await this.deadLetterQueueId(name, options.deadLetterQueue, tx);
    if (existing) {
      const row = await this.event(name, { type: 'CONFIGURE', options, deadLetterQueueId }, tx);
      return { queue: await this.describe(row, tx), created: false };
    }
    const row = await this.actors.create(queueActor, {}, { name, options, deadLetterQueueId }, tx);
    this.largest = null;
    return { queue: await this.describe(row, tx), created: true };
  }

  async get(name: string): Promise<QueueInfo> {
    return this.describe(await this.live(name));
  }

  async list(): Promise<QueueInfo[]> {
    const rows = await this.dataSource.manager.find(QueueEntity, {
      where: { state: Not('deleted') },
      order: { name: 'ASC' },
    });
    const live = rows.filter((row) => row.state !== 'deleting');
    const stats = await this.stats(live.map((row) => row.id));
    return live.map((row) => info(row, stats.get(row.id)));
  }

  async pause(name: string): Promise<QueueInfo> {
    return this.describe(await this.event(name, { type: 'PAUSE' }));
  }

  async resume(name: string): Promise<QueueInfo> {
    return this.describe(await this.event(name, { type: 'RESUME' }));
  }

  /** Removes every message not currently leased. */
  async purge(name: string): Promise<{ purged: number }> {
    const row = await this.live(name);
    const [result] = await query<{ purged: number }>(this.dataSource.manager, PURGE_SQL, [row.id]);
    return { purged: result.purged };
  }

  /**
   * deleting (sends and claims stop) → its messages removed in batches → deleted.
   * Deleting a queue still `deleting` (its deletion was interrupted by a crash) finishes it.
   */
  async delete(name: string): Promise<void> {
    assertName(name);
    const target = await this.find(name);
    if (!target) throw new QueueNotFoundError(name);
    if (target.state !== 'deleting') {
      const dependents = await query<{ name: string }>(this.dataSource.manager, DEAD_LETTER_DEPENDENTS_SQL, [
        target.id,
      ]);
      if (dependents.length > 0) {
        const names = dependents.map((d) => `"${d.name}"`).join(', ');
        throw new InvalidTransitionError(
          `Queue "${name}" is the dead-letter queue of ${names}; give them another deadLetterQueue (or null) first.`,
        );
      }
      await this.event(name, { type: 'DELETE' });
    }
    await this.finishDeletion(target.id);
    this.refs.delete(name);
  }

  /** Finishes every deletion left half done (the janitor's chore); a failing one does not stop the others. */
  async finishDeletions(): Promise<void> {
    const stuck = await this.dataSource.manager.find(QueueEntity, { where: { state: 'deleting' } });
    const failed = (await Promise.allSettled(stuck.map((row) => this.finishDeletion(row.id)))).filter(
      (result) => result.status === 'rejected',
    );
    if (failed.length > 0)
      throw new AggregateError(
        failed.map((f) => f.reason),
        'finishing queue deletions failed',
      );
  }

  /**
   * Safe to run twice at once (a repeated DELETE, the janitor): batches wait for each
   * other's row locks, and only the first DELETED applies; the second finds no queue
   * `deleting` and does nothing.
   */
  private async finishDeletion(id: number): Promise<void> {
    for (;;) {
      const [{ deleted }] = await query<{ deleted: number }>(this.dataSource.manager, DELETE_MESSAGES_BATCH_SQL, [
        id,
        DELETE_BATCH,
      ]);
      if (deleted < DELETE_BATCH) break;
    }
    await query(this.dataSource.manager, DELETE_DEDUP_SQL, [id]);
    await this.actors.apply(queueActor, { id, state: 'deleting' }, { type: 'DELETED' });
  }

  /** The live queue named `name`, from the cache when it can be. */
  async ref(name: string, manager?: EntityManager): Promise<QueueRef> {
    const cached = this.refs.get(name);
    if (cached) return cached;
    const row = await this.live(name, manager);
    const ref = { id: row.id, name: row.name, state: row.state, options: optionsOf(row) };
    this.refs.set(name, ref);
    return ref;
  }

  /**
   * The largest maxMessageBytes of any live queue (the default's when there is none):
   * the broker sizes its request limit from it. Cached until a queue changes anywhere.
   */
  largestMessageBytes(): Promise<number> {
    this.largest ??= query<{ bytes: number }>(this.dataSource.manager, LARGEST_MESSAGE_BYTES_SQL, [
      queueDefaults('').maxMessageBytes,
    ]).then(
      ([row]) => row.bytes,
      (error: unknown) => {
        this.largest = null;
        throw error;
      },
    );
    return this.largest;
  }

  /** The live queue's id, read (not cached) in `manager`'s transaction: it may have created the queue. */
  async liveId(name: string, manager?: EntityManager): Promise<number> {
    return (await this.live(name, manager)).id;
  }

  async exists(name: string, manager?: EntityManager): Promise<boolean> {
    assertName(name);
    return (await this.find(name, manager)) !== null;
  }

  /** Wired to the LISTEN connection: any queue transition on any node drops the cached entry. */
  onActorChange(announcement: ActorAnnouncement | null): void {
    if (announcement === null || announcement.kind === 'queue') this.largest = null;
    if (announcement === null) return this.refs.clear();
    if (announcement.kind !== 'queue') return;
    for (const [name, ref] of this.refs) if (ref.id === announcement.id) this.refs.delete(name);
  }

  /** Raises the error that explains why `name` is not a live queue (404 or 410). */
  async explainMissing(name: string, manager?: EntityManager): Promise<never> {
    this.refs.delete(name);
    await this.live(name, manager);
    throw new QueueNotFoundError(name);
  }

  /** Resolves the DLQ's id; the default DLQ is created on demand, a named one must exist. */
  private async deadLetterQueueId(name: string, dlq: string | null, manager?: EntityManager): Promise<number | null> {
    if (dlq === null) return null;
    const existing = await this.find(dlq, manager);
    if (existing?.state === 'deleting')
      throw new InvalidRequestError('deadLetterQueue', `queue "${dlq}" is being deleted`);
    if (existing) return existing.id;
    if (dlq !== defaultDeadLetterQueue(name)) {
      throw new InvalidRequestError('deadLetterQueue', `queue "${dlq}" does not exist; create it first`);
    }
    await this.upsert(dlq, undefined, manager);
    return (await this.find(dlq, manager))!.id;
  }

  private async event(name: string, event: QueueEvent, manager?: EntityManager): Promise<QueueEntity> {
    assertName(name);
    const applied = await this.actors.apply(queueActor, { name, state: Not('deleted') }, event, manager);
    if (!applied) throw new QueueNotFoundError(name);
    this.refs.delete(name);
    this.largest = null;
    return applied.row;
  }

  private async live(name: string, manager?: EntityManager): Promise<QueueEntity> {
    assertName(name);
    const row = await this.find(name, manager);
    if (!row) throw new QueueNotFoundError(name);
    if (row.state === 'deleting') throw new QueueDeletedError(name);
    return row;
  }

  private find(name: string, manager?: EntityManager): Promise<QueueEntity | null> {
    return (manager ?? this.dataSource.manager).findOne(QueueEntity, { where: { name, state: Not('deleted') } });
  }

  private async describe(row: QueueEntity, manager?: EntityManager): Promise<QueueInfo> {
    const stats = await this.stats([row.id], manager);
    return info(row, stats.get(row.id));
  }

  private async stats(ids: number[], manager?: EntityManager): Promise<Map<number, QueueStats>> {
    if (ids.length === 0) return new Map();
    const rows = await query<Record<string, string>>(manager ?? this.dataSource.manager, QUEUE_STATS_SQL, [ids]);
    return new Map(rows.map((row) => [Number(row.queue_id), toStats(row)]));
  }
}

/** The snapshot is the source of truth; the option columns are its projection for SQL. */
function optionsOf(row: QueueEntity): QueueOptions {
  return (row.snapshot.context as QueueContext).options;
}

function info(row: QueueEntity, stats: QueueStats | undefined): QueueInfo {
  return {
    name: row.name,
    state: row.state as QueueInfo['state'],
    options: optionsOf(row),
    stats: stats ?? toStats(undefined),
  };
}
