import type { MailroomServices } from '../services/mailroom.services';
import type { MessageContext } from '../handlers/message-context';
import { NonRetryableError } from '../errors/mailroom.errors';
import type { Correlation } from './workflow.decorators';
import type { WorkflowDefinition } from './workflow.definition';
import type { WorkflowEngine } from './workflow.engine';
import { WorkflowInstanceNotFoundError } from './workflow.errors';
import type { ActivityJob, WorkflowEnvelope } from './workflow.kind';
import { answerId } from './workflow.inline';

/**
 * The handlers a workflow's push consumers run. The workflow's own queue and the
 * correlated queues are consumed exactly-once: the runner's transaction holds the inbox
 * row and the ack, and the transition joins it through `ctx.manager`. Activities run
 * at-least-once.
 */
export class WorkflowHandlers {
  constructor(
    private readonly services: MailroomServices,
    private readonly engine: WorkflowEngine,
    private readonly definition: WorkflowDefinition,
  ) {}

  /** Start requests, events from REST, timers firing, activity results. */
  async onEnvelope(envelope: WorkflowEnvelope, ctx: MessageContext): Promise<void> {
    await this.settleMissing(ctx, async () => {
      const tx = ctx.manager!;
      if (envelope.kind !== 'start') await this.engine.deliver(this.definition, envelope, tx, ctx.id);
      else if (!envelope.parent || (await this.engine.parentAwaits(envelope.parent, tx)))
        await this.engine.start(this.definition, envelope.key, envelope.input, tx, ctx.id, envelope.parent);
    });
  }

  /**
   * A message of a correlated queue: its event type and key from `correlate`; a `start` one
   * starts the instance. On a `grouped` queue (consumed concurrently) a message without a
   * group key has no order to keep, and is dead-lettered.
   */
  async onCorrelated(
    entries: [string, Correlation][],
    body: unknown,
    ctx: MessageContext,
    grouped = false,
  ): Promise<void> {
    if (grouped && (ctx.groupKey ?? null) === null) {
      throw new NonRetryableError(
        `workflow ${this.definition.name}: message ${ctx.id} on the grouped queue ${ctx.queue} has no group key (send it with the correlation key as groupKey)`,
      );
    }
    const bodyType = (body as { type?: unknown } | null)?.type;
    const entry = entries.length === 1 ? entries[0] : entries.find(([type]) => type === bodyType);
    if (!entry)
      throw new NonRetryableError(
        `workflow ${this.definition.name}: no correlation on ${ctx.queue} for type ${String(bodyType)}`,
      );
    const [type, correlation] = entry;
    const key = correlation.key(body);
    if (typeof key !== 'string' || key.length === 0) {
      throw new NonRetryableError(
        `workflow ${this.definition.name}: correlation ${type} gave no key for message ${ctx.id}`,
      );
    }
    const event = { ...(isRecord(body) ? body : { body }), type };
    await this.settleMissing(ctx, async () => {
      if (correlation.start && (await this.engine.start(this.definition, key, body, ctx.manager!, ctx.id)).created)
        return;
      await this.engine.deliver(this.definition, { key, kind: 'event', event }, ctx.manager!, ctx.id);
    });
  }

  /**
   * Runs one invocation. Its answer goes to the workflow's queue with an id derived from
   * the job's, so a retried job that already answered stores nothing new (dedup window,
   * then the inbox). A failure is retried until `activityAttempts`, then answered as the
   * invoke's error event.
   */
  async onActivity(job: ActivityJob, ctx: MessageContext): Promise<void> {
    const activity = this.definition.activities.get(job.src)!;
    let event: WorkflowEnvelope['event'];
    try {
      const output = await activity({
        input: job.input,
        idempotencyKey: `${job.instanceId}:${job.invocation}:${ctx.id}`,
        key: job.key,
      });
      event = { type: `xstate.done.actor.${job.invocation}`, output };
    } catch (error) {
      if (ctx.deliveryCount < this.definition.activityAttempts && !(error instanceof NonRetryableError)) throw error;
      event = {
        type: `xstate.error.actor.${job.invocation}`,
        error: { message: (error as Error)?.message ?? String(error) },
      };
    }
    const answer: WorkflowEnvelope = { key: job.key, kind: 'result', event, wait: ctx.id };
    await this.services.send(this.definition.queue, answer, { id: answerId(ctx.id) });
  }

  /**
   * A message for a key without an instance may be a reply that overtook its start: it
   * is retried with the queue's backoff, and after `notFoundAttempts` deliveries it is
   * dead-lettered with the reason `workflow_not_found`.
   */
  private async settleMissing(ctx: MessageContext, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (error instanceof WorkflowInstanceNotFoundError && ctx.deliveryCount >= this.definition.notFoundAttempts) {
        throw new NonRetryableError(`workflow_not_found: ${error.message}`, {
          cause: error,
          deadLetterReason: 'workflow_not_found',
        });
      }
      throw error;
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
