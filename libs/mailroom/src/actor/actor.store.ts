import type { AnyMachineSnapshot, AnyStateMachine, EventFromLogic, InputFrom, SnapshotFrom } from 'xstate';
import { initialTransition, transition } from 'xstate';
import type { DataSource, EntityManager, EntityTarget, FindOptionsWhere } from 'typeorm';
import { InvalidTransitionError } from '../errors/mailroom.errors';
import { inTransaction, query } from '../database/transaction';
import { ACTOR_CHANNEL, type ActorAnnouncement } from '../database/channels';
import type { ActorRow, PersistedActor } from './actor.entity';

/** A named action's effect, run inside the transition's transaction. */
export type ActorEffect<TRow> = (manager: EntityManager, row: TRow, params: unknown) => Promise<void>;

/** How one kind of actor is stored: its machine, its table, and what its actions do. */
export interface ActorKind<TMachine extends AnyStateMachine, TRow extends ActorRow> {
  name: string;
  machine: TMachine;
  entity: EntityTarget<TRow>;
  /** Columns derived from the snapshot, written with it so hot-path SQL can read them. */
  project(snapshot: SnapshotFrom<TMachine>): Partial<TRow>;
  effects?: Record<string, ActorEffect<TRow>>;
  /** Why an event is refused in a state, worded for the user. */
  refusal(row: TRow, event: EventFromLogic<TMachine>): string;
}

export interface Applied<TRow> {
  row: TRow;
  changed: boolean;
}

/**
 * The one persistence adapter for actors (DESIGN.md, Actors): lock the row, resolve the
 * stored snapshot, take XState's pure `transition`, write snapshot + projections +
 * version, run the named actions' effects, commit. Every transition is atomic, and the
 * state is readable in SQL. A NOTIFY on `mailroom_actor` tells every node after commit.
 */
export class ActorStore {
  constructor(private readonly dataSource: DataSource) {}

  async create<M extends AnyStateMachine, R extends ActorRow>(
    kind: ActorKind<M, R>,
    identity: Partial<R>,
    input: InputFrom<M>,
    manager?: EntityManager,
  ): Promise<R> {
    const [snapshot] = initialTransition(kind.machine, input as never) as [AnyMachineSnapshot, unknown];
    return inTransaction(this.dataSource, manager, async (tx) => {
      const row = tx.create(kind.entity, {
        ...identity,
        ...kind.project(snapshot as SnapshotFrom<M>),
        state: String(snapshot.value),
        snapshot: persist(snapshot),
        version: 1,
      } as R);
      await tx.insert(kind.entity, row as never);
      await announce(tx, kind.name, row);
      return row;
    });
  }

  async apply<M extends AnyStateMachine, R extends ActorRow>(
    kind: ActorKind<M, R>,
    where: FindOptionsWhere<R>,
    event: EventFromLogic<M>,
    manager?: EntityManager,
  ): Promise<Applied<R> | null> {
    return inTransaction(this.dataSource, manager, async (tx) => {
      const row = await tx.findOne(kind.entity, { where, lock: { mode: 'pessimistic_write' } });
      if (!row) return null;
      const current = kind.machine.resolveState(row.snapshot as never) as AnyMachineSnapshot;
      // Enabled transitions, guards applied; an explicit `{}` handler (idempotent event) counts,
      // which `snapshot.can` would not.
      const enabled = kind.machine.getTransitionData(current as never, event);
      if (!enabled?.length) throw new InvalidTransitionError(kind.refusal(row, event));
      const [next, actions] = transition(kind.machine, current as SnapshotFrom<M>, event) as [
        AnyMachineSnapshot,
        { type: string; params: unknown }[],
      ];
      const stored = persist(next);
      const changed = JSON.stringify(stored) !== JSON.stringify(row.snapshot);
      if (changed) {
        const update = {
          ...kind.project(next as SnapshotFrom<M>),
          state: String(next.value),
          snapshot: stored,
          version: row.version + 1,
        };
        const result = await tx.update(kind.entity, { id: row.id, version: row.version } as never, update as never);
        if (result.affected !== 1) throw new Error(`${kind.name} actor changed under its row lock`);
        Object.assign(row, update);
        await announce(tx, kind.name, row);
      }
      for (const action of actions) {
        const effect = kind.effects?.[action.type];
        if (effect) await effect(tx, row, action.params);
      }
      return { row, changed };
    });
  }
}

function persist(snapshot: { value: unknown; context: unknown }): PersistedActor {
  return { value: String(snapshot.value), context: snapshot.context };
}

async function announce(manager: EntityManager, kind: string, row: ActorRow): Promise<void> {
  const announcement: ActorAnnouncement = { kind, id: row.id, state: row.state };
  await query(manager, `SELECT pg_notify('${ACTOR_CHANNEL}', $1)`, [JSON.stringify(announcement)]);
}
