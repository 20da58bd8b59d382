import { Inject, Injectable, type Type } from '@nestjs/common';
import type { StateValue } from 'xstate';
import { ActorStore } from '../actor/actor.store';
import { MailroomServices } from '../services/mailroom.services';
import { inTransaction, query, type TransactionOptions } from '../database/transaction';
import { InvalidRequestError } from '../errors/mailroom.errors';
import {
  WorkflowAdmin,
  type InstanceFilter,
  type WorkflowInstanceDetail,
  type WorkflowInstanceInfo,
} from './workflow.admin';
import { WorkflowDefinition } from './workflow.definition';
import { describeMachine } from './workflow.diagram';
import type { Unmappable } from './workflow.dry-run';
import { WorkflowEngine, type Outcome } from './workflow.engine';
import { WorkflowNotFoundError } from './workflow.errors';
import { RUNNING_PAGE_SQL, UPSERT_DEFINITION_SQL } from './workflow.sql';
import type { PersistedActor } from '../actor/actor.entity';

/** A workflow by its provider class or its name (the machine's id). */
export type WorkflowRef = Type<unknown> | string;

export interface WorkflowEvent {
  type: string;
  [field: string]: unknown;
}

/** What `start` and `send` did: the instance as it is now in the caller's transaction. */
export interface WorkflowResult {
  key: string;
  status: string;
  state: StateValue;
  context: unknown;
  outcome: Outcome;
}

/**
 * The app's handle on its workflows: `start` and `send` run the transition in the
 * caller's transaction (`{ manager }`) or their own; reads and operations go through
 * WorkflowAdmin, which the broker shares.
 */
@Injectable()
export class Workflows {
  readonly admin: WorkflowAdmin;
  readonly engine: WorkflowEngine;
  private readonly byName = new Map<string, WorkflowDefinition>();
  private readonly byClass = new Map<Type<unknown>, WorkflowDefinition>();

  constructor(@Inject(MailroomServices) private readonly services: MailroomServices) {
    this.admin = new WorkflowAdmin(services);
    this.engine = new WorkflowEngine(services, new ActorStore(services.dataSource));
  }

  /** Makes a `@Workflow` provider runnable here and records its versions in the database. */
  async register(provider: object): Promise<WorkflowDefinition> {
    const definition = WorkflowDefinition.of(provider);
    if (!definition) throw new Error(`${provider.constructor.name} is not decorated with @Workflow.`);
    const other = this.byName.get(definition.name);
    if (other && this.byClass.get(provider.constructor as Type<unknown>) !== other) {
      throw new Error(
        `Two @Workflow providers use the machine id "${definition.name}"; a workflow's name must be unique.`,
      );
    }
    this.byName.set(definition.name, definition);
    this.byClass.set(provider.constructor as Type<unknown>, definition);
    const versions = [...definition.machines].map(([version, machine]) => ({
      version,
      definition: describeMachine(machine),
    }));
    versions.sort((a, b) => (a.version === definition.version ? 1 : b.version === definition.version ? -1 : 0));
    await query(this.services.dataSource.manager, UPSERT_DEFINITION_SQL, [definition.name, JSON.stringify(versions)]);
    return definition;
  }

  definition(ref: WorkflowRef): WorkflowDefinition {
    const definition = typeof ref === 'string' ? this.byName.get(ref) : this.byClass.get(ref);
    if (!definition) throw new WorkflowNotFoundError(typeof ref === 'string' ? ref : ref.name);
    return definition;
  }

  /** Starts the instance for `key` unless it exists (then returns it unchanged, outcome `ignored`). */
  async start(
    ref: WorkflowRef,
    key: string,
    input?: unknown,
    options: TransactionOptions = {},
  ): Promise<WorkflowResult> {
    const definition = this.definition(ref);
    assertKey(key);
    return inTransaction(this.services.dataSource, options.manager, async (tx) => {
      const { instance, created } = await this.engine.start(definition, key, input, tx);
      return result(instance, created ? 'started' : 'ignored');
    });
  }

  /** Applies `event` to the instance for `key` now; one it does not accept is recorded as ignored. */
  async send(
    ref: WorkflowRef,
    key: string,
    event: WorkflowEvent,
    options: TransactionOptions = {},
  ): Promise<WorkflowResult> {
    const definition = this.definition(ref);
    assertKey(key);
    if (typeof event?.type !== 'string' || event.type.length === 0) {
      throw new InvalidRequestError('event', 'must be an object with a non-empty string `type`');
    }
    return inTransaction(this.services.dataSource, options.manager, async (tx) => {
      const { instance, outcome } = await this.engine.deliver(definition, { key, kind: 'event', event }, tx);
      return result(instance, outcome);
    });
  }

  get(ref: WorkflowRef, key: string, historyLimit?: number): Promise<WorkflowInstanceDetail> {
    return this.admin.get(this.definition(ref).name, key, historyLimit);
  }

  list(
    ref: WorkflowRef,
    filter?: InstanceFilter,
  ): Promise<{ instances: WorkflowInstanceInfo[]; cursor: string | null }> {
    return this.admin.list(this.definition(ref).name, filter);
  }

  cancel(ref: WorkflowRef, key: string): Promise<WorkflowInstanceInfo> {
    return this.admin.cancel(this.definition(ref).name, key);
  }

  /** Runs a failed instance again now, if its stored state resolves (after a fix or a `migrate`). */
  async retry(ref: WorkflowRef, key: string): Promise<WorkflowResult> {
    const definition = this.definition(ref);
    return this.services.dataSource.transaction(async (tx) => {
      const { instance, outcome } = await this.engine.deliver(definition, { key, kind: 'retry' }, tx);
      return result(instance, outcome);
    });
  }

  /**
   * The migration dry run: running instances this code could not run (their version is
   * not registered and `migrate` does not map it, or their state is unknown), with why.
   */
  async unmappable(ref: WorkflowRef): Promise<Unmappable[]> {
    const definition = this.definition(ref);
    const found: Unmappable[] = [];
    for (let after = '0'; ;) {
      const rows = await query<{ id: string; key: string; machine_version: string; snapshot: PersistedActor }>(
        this.services.dataSource.manager,
        RUNNING_PAGE_SQL,
        [definition.name, after, 500],
      );
      for (const row of rows) {
        const reason = this.engine.unresolvable(definition, row.machine_version, row.snapshot);
        if (reason) found.push({ key: row.key, version: row.machine_version, reason });
      }
      if (rows.length < 500) return found;
      after = rows[rows.length - 1].id;
    }
  }

  diagram(ref: WorkflowRef, key: string): Promise<string> {
    return this.admin.diagram(this.definition(ref).name, key);
  }

  definitions(): WorkflowDefinition[] {
    return [...this.byName.values()];
  }
}

function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512)
    throw new InvalidRequestError('key', 'must be 1 to 512 characters');
}

function result(
  instance: { key: string; status: string; stateValue: unknown; snapshot: { value: StateValue; context: unknown } },
  outcome: Outcome,
): WorkflowResult {
  return {
    key: instance.key,
    status: instance.status,
    state: instance.snapshot.value,
    context: instance.snapshot.context,
    outcome,
  };
}
