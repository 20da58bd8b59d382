import type { AnyStateMachine } from 'xstate';
import type { PersistedActor } from '../actor/actor.entity';
import type { WorkflowEffects } from './workflow.effects';

export const WORKFLOW = Symbol('mailroom:workflow');
export const WORKFLOW_ACTION = Symbol('mailroom:workflow-action');
export const WORKFLOW_ACTIVITY = Symbol('mailroom:workflow-activity');

/**
 * Which messages drive the workflow, and the instance each one is for: those of a queue
 * (`from`), or of a topic (`topic`, through a subscription named `workflow.<name>`,
 * optionally filtered by `routingKey`).
 */
export interface Correlation<TBody = any> {
  from?: string;
  topic?: string;
  routingKey?: string;
  /** The instance's correlation key, from the message body. */
  key: (body: TBody) => string;
  /** A message for a key without an instance starts one, with the body as input. */
  start?: boolean;
}

export interface WorkflowOptions {
  /** Messages that become events, by event type: `{ OrderPlaced: { from: 'orders', key: (m) => m.orderId, start: true } }`. */
  correlate?: Record<string, Correlation>;
  /** Older versions of the machine whose instances keep running on them. */
  previous?: AnyStateMachine[];
  /**
   * Maps a snapshot of a version that is no longer registered onto the current machine;
   * returning null leaves the instance `failed` with the reason.
   */
  migrate?: (snapshot: PersistedActor, fromVersion: string) => PersistedActor | null;
  /** Deliveries of a message whose instance does not exist (yet) before it is dead-lettered (default 5). */
  notFoundAttempts?: number;
  /** Events applied at once, for different keys (default 4); one key's events go one at a time. */
  concurrency?: number;
  /**
   * Invoke sources that are other workflows, by source name: `{ payment: 'payment' }`.
   * The child starts with the invoke's input under the key `<parent>/<key>/<invoke id>`;
   * its final output (or failure) comes back as the invoke's done (or error) event.
   */
  children?: Record<string, string>;
  /** Deliveries an activity gets before its failure becomes the invoke's error event (default 3). */
  activityAttempts?: number;
  /**
   * History rows kept per instance, newest first (default: all). Each transition deletes the
   * instance's rows beyond it in the same statement, so a long-lived instance stays bounded.
   */
  historyLimit?: number;
}

/** What a `@WorkflowAction` method receives: the context and event the action saw. */
export interface WorkflowActionArgs<TContext = any, TEvent = any> {
  context: TContext;
  event: TEvent;
  params: unknown;
}

export type WorkflowActionMethod = (args: WorkflowActionArgs, out: WorkflowEffects) => unknown;

/** What a `@WorkflowActivity` method receives: the invoke's input and its idempotency key. */
export interface ActivityArgs<TInput = any> {
  input: TInput;
  /** Instance + invocation: the same for every retry of one invocation, so an outside call can dedupe on it. */
  idempotencyKey: string;
  key: string;
}

/**
 * Makes a provider the home of a workflow: `machine` is the pure statechart (its `id`
 * names the workflow, its `version` pins instances); effects are bound by action name
 * with `@WorkflowAction`, invoked activities by source name with `@WorkflowActivity`.
 */
export function Workflow(machine: AnyStateMachine, options: WorkflowOptions = {}): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(WORKFLOW, { machine, options }, target);
  };
}

/** Runs this method for the machine's action `name`, inside the transition's transaction. */
export function WorkflowAction(name: string): MethodDecorator {
  return (_target, _key, descriptor) => {
    Reflect.defineMetadata(WORKFLOW_ACTION, name, descriptor.value as object);
  };
}

/**
 * Runs this method when the machine invokes the actor `src`: as a handler of the
 * workflow's activity queue (at-least-once, retried); what it returns is the invoke's
 * done event, what it throws last its error event.
 */
export function WorkflowActivity(src: string): MethodDecorator {
  return (_target, _key, descriptor) => {
    Reflect.defineMetadata(WORKFLOW_ACTIVITY, src, descriptor.value as object);
  };
}
