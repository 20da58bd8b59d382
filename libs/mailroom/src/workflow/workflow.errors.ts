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

/** A workflow's machine needs something its provider does not offer (an activity, an action). */
export class WorkflowConfigurationError extends MailroomError {
  readonly code = 'workflow_configuration';
  constructor(message: string) {
    super(message);
  }
}
