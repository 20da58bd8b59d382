import { MailroomError } from '../errors/mailroom.errors';

/** No workflow of this name is registered (by an app on this database). */
export class WorkflowNotFoundError extends MailroomError {
  readonly code = 'workflow_not_found';
  constructor(readonly workflow: string) {
    super(`Workflow "${workflow}" is not registered. Start an app that declares it with @Workflow.`);
  }
}

/** The workflow has no instance for this key (yet: a reply may have overtaken its start). */
export class WorkflowInstanceNotFoundError extends MailroomError {
  readonly code = 'workflow_instance_not_found';
  constructor(
    readonly workflow: string,
    readonly key: string,
  ) {
    super(`Workflow "${workflow}" has no instance "${key}". Start it first (workflows.start).`);
  }
}

/**
 * A timer fired by the process that armed it found the database did not agree it is due
 * (or a consumer holds its message, or it is no longer awaited): nothing changed, and
 * the timer's message is the queue's to deliver. Internal: it never reaches a caller.
 */
export class TimerNotDueError extends MailroomError {
  readonly code = 'workflow_timer_not_due';
  constructor(
    readonly wait: string,
    /** How far off (ms) its deadline is by the database clock: 0 when it is due but not ours to fire. */
    readonly dueInMs: number,
  ) {
    super(`The timer whose message is ${wait} is not due, or not for this process to fire.`);
  }
}

/** A workflow's machine needs something its provider does not offer (an activity, an action). */
export class WorkflowConfigurationError extends MailroomError {
  readonly code = 'workflow_configuration';
  constructor(message: string) {
    super(message);
  }
}
