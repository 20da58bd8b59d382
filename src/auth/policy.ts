import type { Action } from './scopes';

/**
 * What each route needs, by its OpenAPI operationId (`<Controller>_<method>`). `param` names
 * the path parameter holding the queue, topic, workflow or producer the action is on; without
 * it the route spans every name (lists) and needs the action on `*`. `read` accepts any of
 * produce, consume or manage on the name: seeing a queue's stats is part of each. A /v1 route
 * missing here needs admin (ScopeGuard), and test/auth/scopes.spec.ts fails until it is listed.
 */
export interface Rule {
  action: Action | 'read';
  param?: string;
}

const on = (action: Rule['action'], param: string): Rule => ({ action, param });
const everything = (action: Rule['action']): Rule => ({ action });

export const POLICY: Record<string, Rule> = {
  QueuesController_put: on('manage', 'name'),
  QueuesController_list: everything('manage'),
  QueuesController_get: on('read', 'name'),
  QueuesController_pause: on('manage', 'name'),
  QueuesController_resume: on('manage', 'name'),
  QueuesController_purge: on('manage', 'name'),
  QueuesController_delete: on('manage', 'name'),
  MessagesController_send: on('produce', 'name'),
  DeliveriesController_receive: on('consume', 'name'),
  DeliveriesController_ack: on('consume', 'name'),
  DeliveriesController_nack: on('consume', 'name'),
  DeliveriesController_extend: on('consume', 'name'),
  // Dead letters hold bodies and failures: reading them is managing the queue.
  DeadLettersController_list: on('manage', 'name'),
  DeadLettersController_get: on('manage', 'name'),
  DeadLettersController_redrive: on('manage', 'name'),
  DeadLettersController_purge: on('manage', 'name'),
  TopicsController_put: on('manage', 'topic'),
  TopicsController_list: everything('manage'),
  TopicsController_get: on('read', 'topic'),
  SubscriptionsController_put: on('manage', 'topic'),
  SubscriptionsController_pause: on('manage', 'topic'),
  SubscriptionsController_resume: on('manage', 'topic'),
  SubscriptionsController_delete: on('manage', 'topic'),
  PublishController_publish: on('produce', 'topic'),
  // Fencing a producer id stops whoever sends under it: only its producers may.
  ProducersController_init: on('produce', 'id'),
  WorkflowsController_definitions: everything('manage'),
  WorkflowsController_unmappable: on('manage', 'name'),
  WorkflowsController_list: on('read', 'name'),
  WorkflowsController_get: on('read', 'name'),
  WorkflowsController_diagram: on('read', 'name'),
  WorkflowsController_sendEvent: on('produce', 'name'),
  WorkflowsController_cancel: on('manage', 'name'),
  WorkflowsController_retry: on('manage', 'name'),
  KeysController_create: everything('admin'),
  KeysController_list: everything('admin'),
  KeysController_revoke: everything('admin'),
  KeysController_audit: everything('admin'),
  KeysController_rotateReceiptSecret: everything('admin'),
};
