import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { EntityManager } from 'typeorm';
import { runEffects, type ActorAction, type ActorKind, type ActorStore } from '../actor/actor.store';
import { persist, restore, stateText } from '../actor/actor.snapshot';
import { pureInitialTransition } from '../actor/actor.transition';
import type { PersistedActor } from '../actor/actor.entity';
import type { MailroomServices } from '../services/mailroom.services';
import { query } from '../database/transaction';
import { record } from '../observability/instruments';
import type { WorkflowDefinition } from './workflow.definition';
import { WorkflowInstanceEntity, type ParentRef } from './workflow.entity';
import { WorkflowInstanceNotFoundError } from './workflow.errors';
import { statusOf, workflowKind, type WorkflowEnvelope } from './workflow.kind';
import {
  FAIL_INSTANCE_SQL,
  LOCK_FOR_EVENT_SQL,
  INSERT_INSTANCE_SQL,
  MIGRATE_INSTANCE_SQL,
  PARENT_AWAITS_SQL,
} from './workflow.sql';
import { TimerWakeups } from './workflow.after-commit';
import { HeldTimers } from './workflow.timers';
import { InlineActivities } from './workflow.inline';
import { history, lockedRow, markConsumed, type Outcome } from './workflow.writes';

type Row = WorkflowInstanceEntity;
type Event = { type: string; [field: string]: unknown };
export type { Delivery, Outcome } from './workflow.writes';

/**
 * One workflow transition per call, inside the caller's transaction `tx` (the push
 * consumer's, holding the inbox row and the ack; or the app's own): lock the instance,
 * pick its pinned machine, check that a timer or activity answer is still awaited, take
 * the pure transition through the actor store (snapshot, projections, effects), write one
 * history row. Whatever throws rolls all of it back.
 */
export class WorkflowEngine {
  private readonly kinds = new Map<WorkflowDefinition, ActorKind<AnyStateMachine, Row>>();
  /** Activities this process runs right after the invoking transition commits. */
  readonly inline: InlineActivities;
  /** Wake-ups of a workflow's consumers when a timer armed here (and not held) falls due. */
  readonly wakeups: TimerWakeups;
  /** Timers armed here, fired here at their deadline. */
  readonly timers: HeldTimers;

  constructor(
    private readonly services: MailroomServices,
    private readonly actors: ActorStore,
  ) {
    this.inline = new InlineActivities(services, this);
    this.wakeups = new TimerWakeups(services);
    this.timers = new HeldTimers(services, this, this.wakeups);
  }

  /** Creates the instance unless it exists; `created` is false when another start won. */
  async start(
    definition: WorkflowDefinition,
    key: string,
    input: unknown,
    tx: EntityManager,
    messageId?: string,
    parent: ParentRef | null = null,
  ) {
    const kind = this.kindOf(definition);
    const [snapshot, actions] = pureInitialTransition(definition.machine, input as never);
    const projected = kind.project(snapshot);
    const stored = persist(definition.machine, snapshot);
    const [inserted] = await query<{ id: string; version: number; created_at: Date; updated_at: Date }>(
      tx,
      INSERT_INSTANCE_SQL,
      [
        definition.name,
        key,
        definition.version,
        projected.status,
        stateText(snapshot.value),
        JSON.stringify(snapshot.value),
        projected.tags,
        JSON.stringify(stored),
        parent === null ? null : JSON.stringify(parent),
      ],
    );
    if (!inserted) return { instance: await this.find(definition, key, tx), created: false };
    const row = tx.create(WorkflowInstanceEntity, {
      ...projected,
      id: String(inserted.id),
      workflow: definition.name,
      key,
      machineVersion: definition.version,
      state: stateText(snapshot.value),
      snapshot: stored,
      version: inserted.version,
      failure: null,
      parent,
      createdAt: inserted.created_at,
      updatedAt: inserted.updated_at,
    });
    await runEffects(kind, tx, row, actions);
    await history(tx, definition, row, 'started', { type: 'xstate.init', input }, messageId);
    await this.answerParent(tx, row);
    return { instance: row, created: true };
  }

  /**
   * Applies one message for an existing instance; throws WorkflowInstanceNotFoundError when
   * there is none. `answered`: the activity job this answer came from, deleted with it.
   */
  async deliver(
    definition: WorkflowDefinition,
    envelope: WorkflowEnvelope,
    tx: EntityManager,
    messageId?: string,
    answered?: string,
  ) {
    // One statement: the row lock, and the timer or activity wait this message answers consumed under it.
    const [locked] = await query(tx, LOCK_FOR_EVENT_SQL, [definition.name, envelope.key, envelope.wait ?? null]);
    if (!locked) throw new WorkflowInstanceNotFoundError(definition.name, envelope.key);
    return this.applyLocked(definition, envelope, tx, locked, messageId, answered);
  }

  /**
   * The transition of an instance locked in `tx` (`locked`, as LOCK_FOR_EVENT_SQL returns
   * it): deliver's, and that of a timer its arming process fires (HeldTimers).
   */
  async applyLocked(
    definition: WorkflowDefinition,
    envelope: WorkflowEnvelope,
    tx: EntityManager,
    locked: Record<string, unknown>,
    messageId?: string,
    answered?: string,
  ) {
    const row = lockedRow(tx, locked);
    const event: Event = envelope.event ?? { type: `mailroom.${envelope.kind}` };
    const ignore = (detail: string, outcome: Outcome = 'ignored') =>
      history(tx, definition, row, outcome, event, messageId, detail, answered);
    if (envelope.kind === 'retry') return this.retry(definition, row, tx, messageId);
    if (row.status !== 'running') return ignore(`the instance is ${row.status}`);
    const current = await this.resolve(definition, row, tx, event, messageId);
    if (!current) return { instance: row, outcome: 'failed' as const };
    if (envelope.wait !== undefined) {
      const consumed = locked.consumed_wait as string | null;
      if (!consumed) return ignore(`${envelope.kind} no longer awaited (its state was left or re-entered)`, 'stale');
      markConsumed(row, consumed);
    }
    const kind = this.kindOf(definition);
    if (!this.actors.accepts(kind, row, current, event)) return ignore(`not accepted in ${row.state}`);
    await this.actors.transitionLocked(kind, tx, row, current, event);
    record('transitioned', row.workflow);
    await this.answerParent(tx, row);
    return history(tx, definition, row, 'applied', event, messageId, undefined, answered);
  }

  /** A child's start still awaited by its parent (which has not left the invoking state). */
  async parentAwaits(parent: ParentRef, tx: EntityManager): Promise<boolean> {
    return (await query(tx, PARENT_AWAITS_SQL, [parent.workflow, parent.key, parent.wait])).length > 0;
  }

  /**
   * A child workflow that ended answers its parent with the invoke's done or error event,
   * in the transaction that ended it; the parent's wait row makes a late answer stale.
   */
  private async answerParent(tx: EntityManager, row: Row): Promise<void> {
    const parent = row.parent;
    if (!parent || (row.status !== 'done' && row.status !== 'failed')) return;
    const event =
      row.status === 'done'
        ? { type: `xstate.done.actor.${parent.invocation}`, output: row.snapshot.output }
        : {
            type: `xstate.error.actor.${parent.invocation}`,
            error: { message: row.failure ?? String(row.snapshot.error) },
          };
    const answer: WorkflowEnvelope = { key: parent.key, kind: 'result', event, wait: parent.wait };
    await this.services.send(`workflow.${parent.workflow}`, answer, { manager: tx });
  }

  /**
   * The instance's snapshot on its pinned machine: that version if still registered, else
   * the declared `migrate` onto the current one. A state no machine knows marks the
   * instance failed with the reason (and the message is settled): never an endless retry.
   */
  private async resolve(
    definition: WorkflowDefinition,
    row: Row,
    tx: EntityManager,
    event: Event,
    messageId?: string,
  ): Promise<AnyMachineSnapshot | null> {
    const fail = async (reason: string) => {
      await query(tx, FAIL_INSTANCE_SQL, [row.id, reason]);
      Object.assign(row, { status: 'failed', failure: reason });
      await history(tx, definition, row, 'failed', event, messageId, reason);
      await this.answerParent(tx, row);
      return null;
    };
    let machine = definition.machines.get(row.machineVersion);
    if (!machine) {
      const migrated = definition.options.migrate?.(row.snapshot, row.machineVersion) ?? null;
      if (!migrated) {
        return fail(
          `version ${row.machineVersion} is not registered and no migrate() maps it to ${definition.version}`,
        );
      }
      await query(tx, MIGRATE_INSTANCE_SQL, [row.id, definition.version, JSON.stringify(migrated)]);
      Object.assign(row, { machineVersion: definition.version, snapshot: migrated });
      machine = definition.machine;
    }
    try {
      return restore(machine, row.snapshot);
    } catch (error) {
      return fail(`stored state ${row.state} is unknown to version ${row.machineVersion}: ${(error as Error).message}`);
    }
  }

  /**
   * Why this code cannot run a stored snapshot (its version unregistered and unmapped,
   * or its state unknown), or null when it can. Pure: the migration dry run uses it.
   */
  unresolvable(definition: WorkflowDefinition, version: string, snapshot: PersistedActor): string | null {
    let machine = definition.machines.get(version);
    if (!machine) {
      const migrated = definition.options.migrate?.(snapshot, version) ?? null;
      if (!migrated) return `version ${version} is not registered and no migrate() maps it to ${definition.version}`;
      [machine, snapshot] = [definition.machine, migrated];
    }
    try {
      restore(machine, snapshot);
      return null;
    } catch (error) {
      return `stored state ${stateText(snapshot.value)} is unknown to version ${machine === definition.machine ? definition.version : version}: ${(error as Error).message}`;
    }
  }

  /** A failed instance runs again if its stored state now resolves (fixed code, a migration). */
  private async retry(definition: WorkflowDefinition, row: Row, tx: EntityManager, messageId?: string) {
    const event = { type: 'mailroom.retry' };
    if (row.status !== 'failed')
      return history(tx, definition, row, 'ignored', event, messageId, `the instance is ${row.status}`);
    row.status = 'running';
    const current = await this.resolve(definition, row, tx, event, messageId);
    if (!current) return { instance: row, outcome: 'failed' as const };
    const status = current.status === 'error' ? 'running' : statusOf(current);
    await tx.update(WorkflowInstanceEntity, { id: row.id }, { status, failure: null, version: row.version + 1 });
    Object.assign(row, { status, failure: null, version: row.version + 1 });
    return history(tx, definition, row, 'retried', event, messageId);
  }

  private async find(definition: WorkflowDefinition, key: string, tx: EntityManager): Promise<Row> {
    return tx.findOneOrFail(WorkflowInstanceEntity, { where: { workflow: definition.name, key } });
  }

  private kindOf(definition: WorkflowDefinition): ActorKind<AnyStateMachine, Row> {
    let kind = this.kinds.get(definition);
    if (!kind) {
      kind = workflowKind(this.services, definition, {
        inline: this.inline,
        wakeups: this.wakeups,
        timers: this.timers,
      });
      this.kinds.set(definition, kind);
    }
    return kind;
  }
}
