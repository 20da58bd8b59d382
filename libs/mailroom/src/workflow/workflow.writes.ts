import type { EntityManager } from 'typeorm';
import { query } from '../database/transaction';
import { AfterCommit } from './workflow.after-commit';
import { WorkflowInstanceEntity, type ParentRef } from './workflow.entity';
import { ARM_WAITS_SQL, RECORD_HISTORY_SQL } from './workflow.sql';
import type { WorkflowDefinition } from './workflow.definition';

type Row = WorkflowInstanceEntity;
type Event = { type: string; [field: string]: unknown };
export type Outcome = 'started' | 'applied' | 'ignored' | 'stale' | 'failed' | 'retried';

/** What one call did to an instance. */
export interface Delivery {
  instance: Row;
  outcome: Outcome;
}

/** A timer, activity or child start a transition awaits: wait id, kind, answering message, delay (ms, timers only). */
export interface Arm {
  waitId: string;
  kind: 'timer' | 'activity' | 'child';
  messageId: string;
  delayMs: number | null;
}

/**
 * What one transition of an instance writes besides its snapshot, gathered so that it
 * costs one statement, the history row's (RECORD_HISTORY_SQL), instead of one each: the
 * waits it arms, and the answered job it deletes. Keyed by the row object the transition
 * works on, so nothing outlives it.
 */
const arms = new WeakMap<Row, Arm[]>();
const saves = new WeakMap<Row, Partial<Row>>();
const consumed = new WeakMap<Row, string>();

export function armLater(row: Row, arm: Arm): void {
  const list = (arms.get(row) ?? []).filter((a) => a.waitId !== arm.waitId);
  arms.set(row, [...list, arm]);
}

/** The transition's new snapshot, projections and version (ActorKind.save), written with its history row. */
export function saveLater(row: Row, update: Partial<Row>): void {
  saves.set(row, update);
}

/** The pending save as RECORD_HISTORY_SQL's parameters $13-$18 (all null: none); takes it. */
export function takeSave(row: Row): unknown[] {
  const update = saves.get(row);
  saves.delete(row);
  if (!update) return [null, null, null, null, null, null];
  return [
    update.status,
    update.state,
    JSON.stringify(update.stateValue),
    update.tags,
    JSON.stringify(update.snapshot),
    update.version! - 1,
  ];
}

/** The wait this transition's message answered (already deleted under the row lock). */
export function markConsumed(row: Row, waitId: string): void {
  consumed.set(row, waitId);
}

/** Whether cancelling `waitId` has nothing to do: it is the wait this very transition consumed. */
export function wasConsumed(row: Row, waitId: string): boolean {
  return consumed.get(row) === waitId;
}

/** The pending arms as RECORD_HISTORY_SQL's array parameters; takes them. */
export function takeArms(row: Row): [string[], string[], string[], (number | null)[]] {
  const list = arms.get(row) ?? [];
  arms.delete(row);
  return [list.map((a) => a.waitId), list.map((a) => a.kind), list.map((a) => a.messageId), list.map((a) => a.delayMs)];
}

/** Writes the pending arms now: a cancel must see every wait armed before it in the transition. */
export async function flushArms(tx: EntityManager, row: Row): Promise<void> {
  if (!arms.get(row)?.length) return;
  await query(tx, ARM_WAITS_SQL, [row.id, ...takeArms(row)]);
}

/** The instance as LOCK_FOR_EVENT_SQL returns it. */
export function lockedRow(tx: EntityManager, r: Record<string, unknown>): Row {
  return tx.create(WorkflowInstanceEntity, {
    id: String(r.id),
    workflow: r.workflow as string,
    key: r.key as string,
    machineVersion: r.machine_version as string,
    status: r.status as Row['status'],
    state: r.state as string,
    stateValue: r.state_value,
    tags: r.tags as string[],
    snapshot: r.snapshot as Row['snapshot'],
    version: r.version as number,
    failure: r.failure as string | null,
    parent: r.parent as ParentRef | null,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  });
}

/**
 * One history row, in one statement with the waits the transition armed and the answered
 * job; with `historyLimit`, the instance's older rows beyond it go too. Returns what the
 * call did to the instance. Its answer tells when the transaction began (AfterCommit.observe).
 */
export async function history(
  tx: EntityManager,
  definition: WorkflowDefinition,
  row: Row,
  outcome: Outcome,
  event: Event,
  messageId?: string,
  detail?: string,
  answered?: string,
): Promise<Delivery> {
  const save = takeSave(row);
  const [written] = await query<{ saved: number; began_ms: number; clock_ms: number }>(tx, RECORD_HISTORY_SQL, [
    row.id,
    outcome,
    JSON.stringify(event),
    JSON.stringify(row.stateValue ?? row.snapshot.value),
    messageId ?? null,
    detail ?? null,
    definition.options.historyLimit ?? null,
    ...takeArms(row),
    answered ?? null,
    ...save,
  ]);
  AfterCommit.of(tx.connection).observe(tx, written.began_ms, written.clock_ms);
  if (save[5] !== null && written.saved !== 1) throw new Error('workflow actor changed under its row lock');
  return { instance: row, outcome };
}
