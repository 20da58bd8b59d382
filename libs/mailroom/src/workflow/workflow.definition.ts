import type { AnyStateMachine } from 'xstate';
import { assertInteger, assertName } from '../errors/validate';
import {
  WORKFLOW,
  WORKFLOW_ACTION,
  WORKFLOW_ACTIVITY,
  type ActivityArgs,
  type WorkflowActionMethod,
  type WorkflowOptions,
} from './workflow.decorators';

/** A machine's version as instances are pinned to it: its `version`, or "1". */
export function versionOf(machine: AnyStateMachine): string {
  return String(machine.version ?? '1');
}

/**
 * A `@Workflow` provider as the engine runs it: its machines by version, its effects by
 * action name, its activities by source name, and the queues it uses.
 */
export class WorkflowDefinition {
  readonly name: string;
  readonly version: string;
  readonly machines = new Map<string, AnyStateMachine>();
  /** Events from outside (REST, `workflows.send` without a transaction), timers and activity results. */
  readonly queue: string;
  readonly activityQueue: string;

  constructor(
    readonly machine: AnyStateMachine,
    readonly options: WorkflowOptions,
    readonly actions: Map<string, WorkflowActionMethod>,
    readonly activities: Map<string, (args: ActivityArgs) => unknown>,
  ) {
    this.name = machine.id;
    assertName(this.name, `workflow id of machine "${this.name}"`);
    this.version = versionOf(machine);
    for (const previous of options.previous ?? []) this.machines.set(versionOf(previous), previous);
    this.machines.set(this.version, machine);
    this.queue = `workflow.${this.name}`;
    this.activityQueue = `workflow.${this.name}.activities`;
  }

  /** Reads a provider's decorators; null when the class is not a `@Workflow`. */
  static of(instance: object): WorkflowDefinition | null {
    const metadata = Reflect.getMetadata(WORKFLOW, instance.constructor) as
      { machine: AnyStateMachine; options: WorkflowOptions } | undefined;
    if (!metadata) return null;
    const { historyLimit } = metadata.options;
    if (historyLimit !== undefined) assertInteger(historyLimit, 'historyLimit', 1, 1_000_000);
    const actions = new Map<string, WorkflowActionMethod>();
    const activities = new Map<string, (args: ActivityArgs) => unknown>();
    for (const method of methodNames(instance)) {
      const fn = (instance as Record<string, (...args: never[]) => unknown>)[method];
      const action = Reflect.getMetadata(WORKFLOW_ACTION, fn) as string | undefined;
      const activity = Reflect.getMetadata(WORKFLOW_ACTIVITY, fn) as string | undefined;
      if (action !== undefined) actions.set(action, fn.bind(instance) as WorkflowActionMethod);
      if (activity !== undefined) activities.set(activity, fn.bind(instance) as (args: ActivityArgs) => unknown);
    }
    return new WorkflowDefinition(metadata.machine, metadata.options, actions, activities);
  }

  get notFoundAttempts(): number {
    return this.options.notFoundAttempts ?? 5;
  }

  get activityAttempts(): number {
    return this.options.activityAttempts ?? 3;
  }
}

function methodNames(instance: object): string[] {
  const names = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(instance);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name);
  }
  return [...names];
}
