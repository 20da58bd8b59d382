import type { StateValue } from 'xstate';
import type { MailroomServices } from '../services/mailroom.services';
import { InvalidRequestError, InvalidTransitionError } from '../errors/mailroom.errors';
import { assertInteger, assertName } from '../errors/validate';
import { query } from '../database/transaction';
import { mermaid, type StateTree } from './workflow.diagram';
import { unmappableFromRows, type Unmappable } from './workflow.dry-run';
import type { WorkflowStatus } from './workflow.entity';
import { WorkflowInstanceNotFoundError, WorkflowNotFoundError } from './workflow.errors';
import type { WorkflowEnvelope } from './workflow.kind';
import {
  CANCEL_INSTANCE_SQL,
  CANCEL_WAITS_SQL,
  DEFINITIONS_SQL,
  GET_INSTANCE_SQL,
  HISTORY_SQL,
  INSERT_HISTORY_SQL,
  LIST_INSTANCES_SQL,
  LOCK_INSTANCE_SQL,
  WAITS_SQL,
} from './workflow.sql';

export interface WorkflowInfo {
  name: string;
  /** Newest last; new instances start on it. */
  versions: { version: string; definition: StateTree }[];
  updatedAt: Date;
}

export interface WorkflowInstanceInfo {
  workflow: string;
  key: string;
  version: string;
  status: WorkflowStatus;
  state: StateValue;
  tags: string[];
  failure: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WorkflowTransition {
  outcome: string;
  event: { type: string };
  state: StateValue;
  messageId: string | null;
  detail: string | null;
  at: Date;
}

export interface WorkflowInstanceDetail extends WorkflowInstanceInfo {
  /** XState's persisted snapshot (context, output, history values, children). */
  snapshot: unknown;
  /** Timers armed, activities and child workflows running. */
  waits: { id: string; kind: 'timer' | 'activity' | 'child'; dueAt: Date | null }[];
  /** Newest first. */
  history: WorkflowTransition[];
}

export interface InstanceFilter {
  status?: string;
  state?: string;
  tag?: string;
  limit?: number;
  cursor?: string;
}

const STATUSES: WorkflowStatus[] = ['running', 'done', 'failed', 'cancelled'];

/**
 * Operating workflows from their rows alone: what the broker serves for apps on the same
 * database. Reads, cancel (no app code needed), and events or retries handed to the
 * app's workers through the workflow's queue, since the effects are the app's code.
 */
export class WorkflowAdmin {
  constructor(private readonly services: MailroomServices) {}

  get dataSource() {
    return this.services.dataSource;
  }

  async definitions(): Promise<WorkflowInfo[]> {
    const rows = await query<{ name: string; versions: WorkflowInfo['versions']; updated_at: Date }>(
      this.services.dataSource.manager,
      DEFINITIONS_SQL,
      [null],
    );
    return rows.map((r) => ({ name: r.name, versions: r.versions, updatedAt: r.updated_at }));
  }

  async definition(name: string): Promise<WorkflowInfo> {
    assertName(name, 'workflow');
    const [row] = await query<{ name: string; versions: WorkflowInfo['versions']; updated_at: Date }>(
      this.services.dataSource.manager,
      DEFINITIONS_SQL,
      [name],
    );
    if (!row) throw new WorkflowNotFoundError(name);
    return { name: row.name, versions: row.versions, updatedAt: row.updated_at };
  }

  /** The migration dry run the rows allow (see unmappableFromRows); the app's own runs its `migrate()` too. */
  async unmappable(name: string): Promise<Unmappable[]> {
    const { versions } = await this.definition(name);
    return unmappableFromRows(this.services.dataSource.manager, name, versions);
  }

  async list(
    name: string,
    filter: InstanceFilter = {},
  ): Promise<{ instances: WorkflowInstanceInfo[]; cursor: string | null }> {
    await this.definition(name);
    const limit = filter.limit ?? 100;
    assertInteger(limit, 'limit', 1, 1000);
    if (filter.status !== undefined && !STATUSES.includes(filter.status as WorkflowStatus)) {
      throw new InvalidRequestError('status', `must be one of ${STATUSES.join(', ')}`);
    }
    if (filter.cursor !== undefined && !/^\d{1,18}$/.test(filter.cursor)) {
      throw new InvalidRequestError('cursor', 'must be a cursor returned by the previous page');
    }
    const path = filter.state === undefined ? null : filter.state.split('.');
    if (path?.some((part) => part.length === 0))
      throw new InvalidRequestError('state', 'must be a dotted state path such as shipping.waiting');
    const rows = await query<InstanceRow>(this.services.dataSource.manager, LIST_INSTANCES_SQL, [
      name,
      filter.status ?? null,
      filter.tag ?? null,
      path,
      filter.cursor ?? null,
      limit,
    ]);
    return { instances: rows.map(info), cursor: rows.length === limit ? String(rows[rows.length - 1].id) : null };
  }

  async get(name: string, key: string, historyLimit = 20): Promise<WorkflowInstanceDetail> {
    assertInteger(historyLimit, 'history', 0, 1000);
    const row = await this.row(name, key);
    const manager = this.services.dataSource.manager;
    const waits = await query<{ wait_id: string; kind: 'timer' | 'activity' | 'child'; due_at: Date | null }>(
      manager,
      WAITS_SQL,
      [row.id],
    );
    const history = await query<HistoryRow>(manager, HISTORY_SQL, [row.id, historyLimit]);
    return {
      ...info(row),
      snapshot: row.snapshot,
      waits: waits.map((w) => ({ id: w.wait_id, kind: w.kind, dueAt: w.due_at })),
      history: history.map((h) => ({
        outcome: h.outcome,
        event: h.event,
        state: h.state_value,
        messageId: h.message_id,
        detail: h.detail,
        at: h.created_at,
      })),
    };
  }

  /** Mermaid text of the instance's machine version with its active states highlighted. */
  async diagram(name: string, key: string): Promise<string> {
    const definition = await this.definition(name);
    const row = await this.row(name, key);
    const version = definition.versions.find((v) => v.version === row.machine_version) ?? definition.versions.at(-1)!;
    return mermaid(version.definition, row.state_value);
  }

  /** Stops an instance where it is: its timers and activities are forgotten, later events ignored. */
  async cancel(name: string, key: string): Promise<WorkflowInstanceInfo> {
    await this.definition(name);
    await this.services.dataSource.transaction(async (tx) => {
      const [row] = await query<{ id: string; status: WorkflowStatus; state_value: StateValue }>(
        tx,
        LOCK_INSTANCE_SQL,
        [name, key],
      );
      if (!row) throw new WorkflowInstanceNotFoundError(name, key);
      if (row.status === 'done' || row.status === 'cancelled') {
        throw new InvalidTransitionError(`Workflow ${name} "${key}" is ${row.status}; there is nothing to cancel.`);
      }
      await query(tx, CANCEL_WAITS_SQL, [row.id, null]);
      await query(tx, CANCEL_INSTANCE_SQL, [row.id]);
      await query(tx, INSERT_HISTORY_SQL, [
        row.id,
        'cancelled',
        JSON.stringify({ type: 'mailroom.cancel' }),
        JSON.stringify(row.state_value),
        null,
        null,
      ]);
    });
    return info(await this.row(name, key));
  }

  /** Hands an event to the app's workers (the workflow's queue, in order per key). */
  async sendEvent(name: string, key: string, event: unknown): Promise<{ id: string }> {
    if (
      typeof event !== 'object' ||
      event === null ||
      Array.isArray(event) ||
      typeof (event as { type?: unknown }).type !== 'string' ||
      !(event as { type: string }).type
    ) {
      throw new InvalidRequestError('event', 'must be an object with a non-empty string `type`');
    }
    if ((event as { type: string }).type.startsWith('xstate.')) {
      throw new InvalidRequestError('event.type', 'xstate.* events are internal (timers, activities)');
    }
    await this.row(name, key);
    return this.enqueue(name, { key, kind: 'event', event: event as WorkflowEnvelope['event'] });
  }

  /** Asks the app's workers to run a failed instance again (it stays failed if its state still does not resolve). */
  async retry(name: string, key: string): Promise<{ id: string }> {
    const row = await this.row(name, key);
    if (row.status !== 'failed')
      throw new InvalidTransitionError(
        `Workflow ${name} "${key}" is ${row.status}; only a failed instance can be retried.`,
      );
    return this.enqueue(name, { key, kind: 'retry' });
  }

  private async enqueue(name: string, envelope: WorkflowEnvelope): Promise<{ id: string }> {
    const { id } = await this.services.send(`workflow.${name}`, envelope, { groupKey: envelope.key });
    return { id };
  }

  private async row(name: string, key: string): Promise<InstanceRow & { snapshot: unknown }> {
    await this.definition(name);
    if (typeof key !== 'string' || key.length === 0 || key.length > 512)
      throw new InvalidRequestError('key', 'must be 1 to 512 characters');
    const [row] = await query<InstanceRow & { snapshot: unknown }>(this.services.dataSource.manager, GET_INSTANCE_SQL, [
      name,
      key,
    ]);
    if (!row) throw new WorkflowInstanceNotFoundError(name, key);
    return row;
  }
}

interface InstanceRow {
  id: string;
  workflow: string;
  key: string;
  machine_version: string;
  status: WorkflowStatus;
  state_value: StateValue;
  tags: string[];
  failure: string | null;
  created_at: Date;
  updated_at: Date;
}

interface HistoryRow {
  outcome: string;
  event: { type: string };
  state_value: StateValue;
  message_id: string | null;
  detail: string | null;
  created_at: Date;
}

function info(row: InstanceRow): WorkflowInstanceInfo {
  return {
    workflow: row.workflow,
    key: row.key,
    version: row.machine_version,
    status: row.status,
    state: row.state_value,
    tags: row.tags,
    failure: row.failure,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
