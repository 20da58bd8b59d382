import { randomUUID } from 'node:crypto';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { EntityManager } from 'typeorm';
import type { ActorEffect, ActorKind } from '../actor/actor.store';
import type { MailroomServices } from '../services/mailroom.services';
import { query } from '../database/transaction';
import { EffectRecorder } from './workflow.effects';
import type { WorkflowDefinition } from './workflow.definition';
import { WorkflowInstanceEntity, type ParentRef, type WorkflowStatus } from './workflow.entity';
import { CANCEL_CHILD_SQL, CANCEL_WAITS_SQL } from './workflow.sql';
import { armLater, flushArms, saveLater, wasConsumed } from './workflow.writes';
import { WorkflowConfigurationError } from './workflow.errors';
import type { TimerWakeups } from './workflow.after-commit';
import type { InlineActivities } from './workflow.inline';
import type { HeldTimers } from './workflow.timers';

type Row = WorkflowInstanceEntity;

/** A message on a workflow's own queue. `wait` names the timer or activity message it answers. */
export interface WorkflowEnvelope {
  key: string;
  kind: 'start' | 'event' | 'timer' | 'result' | 'retry';
  event?: { type: string; [field: string]: unknown };
  input?: unknown;
  wait?: string;
  /** A start of a child workflow: the parent it answers. */
  parent?: ParentRef;
}

/** A job on a workflow's activity queue: one invocation of `src`. */
export interface ActivityJob {
  key: string;
  instanceId: string;
  invocation: string;
  src: string;
  input: unknown;
}

export function statusOf(snapshot: AnyMachineSnapshot): WorkflowStatus {
  return snapshot.status === 'done' ? 'done' : snapshot.status === 'error' ? 'failed' : 'running';
}

/**
 * A workflow as the actor store keeps it: the instance's pinned machine, projections
 * for listing, and its effects. Named actions run the `@WorkflowAction` bound to them;
 * XState's own actions become durable: a delayed raise (`after`) a delayed message plus
 * its wait row (fired by this process at its deadline: HeldTimers), a cancel the removal
 * of both, an invoke a job on the activity queue (run by this process after the commit
 * when it can).
 * Everything is written through `tx`, so it commits with the transition or not at all.
 */
export function workflowKind(
  services: MailroomServices,
  definition: WorkflowDefinition,
  hooks: { inline: InlineActivities; wakeups: TimerWakeups; timers: HeldTimers },
): ActorKind<AnyStateMachine, Row> {
  const effects: Record<string, ActorEffect<Row>> = {
    'xstate.raise': async (tx, row, params) => {
      const { event, id, delay } = params as { event: { type: string }; id: string; delay?: number };
      if (delay === undefined) return; // an immediate raise happened inside the transition
      const wait = randomUUID();
      const delayMs = Math.round(delay);
      armLater(row, { waitId: id, kind: 'timer', messageId: wait, delayMs });
      const envelope: WorkflowEnvelope = { key: row.key, kind: 'timer', event, wait };
      await services.send(definition.queue, envelope, { id: wait, delayMs, manager: tx });
      // Fired here at its deadline, or its consumers woken then (beyond what is held).
      if (!hooks.timers.hold(tx, definition, { key: row.key, event, wait }, delayMs))
        hooks.wakeups.schedule(tx, definition.queue, delayMs);
    },
    'xstate.cancel': async (tx, row, params) => {
      const { sendId } = params as { sendId: string };
      if (wasConsumed(row, sendId)) return; // the timer that fired: its wait is gone, its message is being acked
      await flushArms(tx, row);
      await query(tx, CANCEL_WAITS_SQL, [row.id, [sendId]]);
    },
    'xstate.spawnChild': async (tx, row, params) => {
      const { id, src, input } = params as { id: string; src: unknown; input: unknown };
      const child = typeof src === 'string' ? definition.options.children?.[src] : undefined;
      if (child !== undefined) {
        const wait = randomUUID();
        armLater(row, { waitId: id, kind: 'child', messageId: wait, delayMs: null });
        const parent: ParentRef = { workflow: definition.name, key: row.key, invocation: id, wait };
        const start: WorkflowEnvelope = { key: `${definition.name}/${row.key}/${id}`, kind: 'start', input, parent };
        await services.send(`workflow.${child}`, start, { id: wait, groupKey: start.key, manager: tx });
        return;
      }
      if (typeof src !== 'string' || !definition.activities.has(src)) {
        throw new WorkflowConfigurationError(
          `Workflow "${definition.name}" invokes "${String(src)}", which no @WorkflowActivity('${String(src)}') method of its provider implements.`,
        );
      }
      const wait = randomUUID();
      armLater(row, { waitId: id, kind: 'activity', messageId: wait, delayMs: null });
      const job: ActivityJob = { key: row.key, instanceId: row.id, invocation: id, src, input };
      // Run by this process once the transition commits, if it can (the job waits out a lease meanwhile).
      const delayMs = hooks.inline.claim(definition, tx, job, wait);
      await services.send(definition.activityQueue, job, { id: wait, delayMs, manager: tx });
    },
    // Leaving an invoking state stops its child (XState passes the child's actor ref): the
    // activity's answer, when it comes, is stale; a child workflow is cancelled with it.
    // The wait goes first: a child start in flight holds it FOR SHARE (PARENT_AWAITS_SQL).
    'xstate.stopChild': async (tx, row, params) => {
      const id = (params as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string') return;
      await flushArms(tx, row);
      // The invocation that answered: its wait is gone, its job deleted with the answer or being acked.
      if (!wasConsumed(row, id)) await query(tx, CANCEL_WAITS_SQL, [row.id, [id]]);
      const children = Object.values(definition.options.children ?? {});
      if (children.length > 0) {
        await query(tx, CANCEL_CHILD_SQL, [
          `${definition.name}/${row.key}/${id}`,
          children,
          'the parent left the invoking state',
        ]);
      }
    },
  };
  for (const [name, method] of definition.actions) {
    effects[name] = async (tx, _row, params, action) => {
      const out = new EffectRecorder();
      await method({ context: action.info?.context, event: action.info?.event, params }, out);
      await write(services, tx, out);
    };
  }
  return {
    name: 'workflow',
    machine: definition.machine,
    entity: WorkflowInstanceEntity,
    machineFor: (row) => definition.machines.get(row.machineVersion) ?? definition.machine,
    project: (snapshot) => ({
      status: statusOf(snapshot as AnyMachineSnapshot),
      stateValue: (snapshot as AnyMachineSnapshot).value,
      tags: [...(snapshot as AnyMachineSnapshot).tags],
    }),
    effects,
    // Written with the transition's history row: one statement instead of three.
    save: async (_tx, row, update) => saveLater(row, update),
    refusal: (row, event) => `Workflow ${row.workflow} "${row.key}" does not accept ${event.type} in ${row.state}.`,
  };
}

async function write(services: MailroomServices, tx: EntityManager, out: EffectRecorder): Promise<void> {
  for (const effect of out.effects) {
    if (effect.kind === 'send') {
      const { body, ...options } = effect.message;
      await services.send(effect.queue, body as never, { ...options, manager: tx });
    } else {
      const { body, ...options } = effect.message;
      await services.publish(effect.topic, body as never, { ...options, manager: tx });
    }
  }
}
