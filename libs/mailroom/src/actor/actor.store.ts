import type { AnyMachineSnapshot, AnyStateMachine, EventFromLogic, InputFrom, SnapshotFrom } from 'xstate';
import type { DataSource, EntityManager, EntityTarget, FindOptionsWhere } from 'typeorm';
import { InvalidTransitionError } from '../errors/mailroom.errors';
import { inTransaction, query } from '../database/transaction';
import { ACTOR_CHANNEL, type ActorAnnouncement } from '../database/channels';
import type { ActorRow } from './actor.entity';
import { persist, restore, stateText } from './actor.snapshot';
import { pureInitialTransition, pureTransition } from './actor.transition';

/** An action as XState's pure `transition` returns it: its name, params, and the context and event it saw. */
export interface ActorAction {
  type: string;
  params: unknown;
  info?: { context: unknown; event: unknown };
}

/** A named action's effect, run inside the transition's transaction. */
export type ActorEffect<TRow> = (
  manager: EntityManager,
  row: TRow,
  params: unknown,
  action: ActorAction,
) => Promise<void>;

/** How one kind of actor is stored: its machine, its table, and what its actions do. */
export interface ActorKind<TMachine extends AnyStateMachine, TRow extends ActorRow> {
  name: string;
  /** The machine of new actors; `machineFor` picks a stored row's (workflows pin each instance to a version). */
  machine: TMachine;
  machineFor?(row: TRow): AnyStateMachine;
  entity: EntityTarget<TRow>;
  /** Columns derived from the snapshot, written with it so hot-path SQL can read them. */
  project(snapshot: SnapshotFrom<TMachine>): Partial<TRow>;
  /** One per machine action that is not an `assign` (actor.effects.spec.ts checks every kind). */
  effects: Record<string, ActorEffect<TRow>>;
  /** Why an event is refused in a state, worded for the user. */
  refusal(row: TRow, event: EventFromLogic<TMachine>): string;
  /**
   * Writes a transition's new snapshot, projections and version (`update`, the version
   * its successor) in `tx`; by default an UPDATE fenced by the row's version, then the
   * NOTIFY that has every node drop what it caches of the actor. A kind may instead defer
   * the write into a later statement of the same transaction (workflows write it with the
   * history row, and announce nothing: no node caches an instance), and must then fail
   * the transaction if the version did not match.
   */
  save?(tx: EntityManager, row: TRow, update: Partial<TRow>): Promise<void>;
}

export interface Applied<TRow> {
  row: TRow;
  changed: boolean;
}

/** One transition of a locked row: the snapshots on both sides and the actions it took. */
export interface Transitioned<TRow> extends Applied<TRow> {
  before: AnyMachineSnapshot;
  after: AnyMachineSnapshot;
  actions: ActorAction[];
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
    const [snapshot] = pureInitialTransition(kind.machine, input);
    return inTransaction(this.dataSource, manager, async (tx) => {
      const row = tx.create(kind.entity, {
        ...identity,
        ...kind.project(snapshot as SnapshotFrom<M>),
        state: stateText(snapshot.value),
        snapshot: persist(kind.machine, snapshot),
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
      const current = this.restore(kind, row);
      // Enabled transitions, guards applied; an explicit `{}` handler (idempotent event) counts,
      // which `snapshot.can` would not.
      if (!this.accepts(kind, row, current, event)) throw new InvalidTransitionError(kind.refusal(row, event));
      const { changed } = await this.transitionLocked(kind, tx, row, current, event);
      return { row, changed };
    });
  }

  /** The stored snapshot of `row` on its machine; throws when the machine does not know its state. */
  restore<M extends AnyStateMachine, R extends ActorRow>(kind: ActorKind<M, R>, row: R): AnyMachineSnapshot {
    return restore(kind.machineFor?.(row) ?? kind.machine, row.snapshot);
  }

  /** Does the state of `current` take `event` (guards applied)? */
  accepts<M extends AnyStateMachine, R extends ActorRow>(
    kind: ActorKind<M, R>,
    row: R,
    current: AnyMachineSnapshot,
    event: { type: string },
  ): boolean {
    const machine = kind.machineFor?.(row) ?? kind.machine;
    return (machine.getTransitionData(current as never, event as never)?.length ?? 0) > 0;
  }

  /**
   * Applies `event` to a row the caller has locked in `tx`: pure `transition`, then the
   * new snapshot, projections and version+1 (only if something changed), then the
   * named actions' effects, all in `tx`.
   */
  async transitionLocked<M extends AnyStateMachine, R extends ActorRow>(
    kind: ActorKind<M, R>,
    tx: EntityManager,
    row: R,
    current: AnyMachineSnapshot,
    event: { type: string },
  ): Promise<Transitioned<R>> {
    const machine = kind.machineFor?.(row) ?? kind.machine;
    const [next, actions] = pureTransition(machine, current, event);
    const stored = persist(machine, next);
    const changed = JSON.stringify(stored) !== JSON.stringify(row.snapshot);
    if (changed) {
      const update = {
        ...kind.project(next as SnapshotFrom<M>),
        state: stateText(next.value),
        snapshot: stored,
        version: row.version + 1,
      };
      if (kind.save) {
        await kind.save(tx, row, update as Partial<R>);
        Object.assign(row, update);
      } else {
        const result = await tx.update(kind.entity, { id: row.id, version: row.version } as never, update as never);
        if (result.affected !== 1) throw new Error(`${kind.name} actor changed under its row lock`);
        Object.assign(row, update);
        await announce(tx, kind.name, row);
      }
    }
    await runEffects(kind, tx, row, actions);
    return { row, changed, before: current, after: next, actions };
  }
}

/** Runs the effect each action names, in order, in `tx`; only XState built-ins a kind gives no effect have none. */
export async function runEffects<M extends AnyStateMachine, R extends ActorRow>(
  kind: ActorKind<M, R>,
  tx: EntityManager,
  row: R,
  actions: ActorAction[],
): Promise<void> {
  for (const action of actions) {
    const effect = kind.effects[action.type];
    if (effect) await effect(tx, row, action.params, action);
  }
}

async function announce(manager: EntityManager, kind: string, row: ActorRow): Promise<void> {
  const announcement: ActorAnnouncement = { kind, id: row.id, state: row.state };
  await query(manager, `SELECT pg_notify('${ACTOR_CHANNEL}', $1)`, [JSON.stringify(announcement)]);
}
