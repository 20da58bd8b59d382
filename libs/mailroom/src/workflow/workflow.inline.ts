import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { MailroomServices } from '../services/mailroom.services';
import { NonRetryableError } from '../errors/mailroom.errors';
import { storableText } from '../errors/validate';
import { query } from '../database/transaction';
import { QUEUE_RETRY_POLICY, retryDelaySql } from '../queue/retry.policy.sql';
import { MESSAGE_CHANNEL } from '../database/channels';
import { AfterCommit } from './workflow.after-commit';
import type { WorkflowDefinition } from './workflow.definition';
import type { WorkflowEngine } from './workflow.engine';
import type { ActivityJob, WorkflowEnvelope } from './workflow.kind';

/** Keeps an unclaimed job invisible to the activity queue for $2 ms more: the inline run's lease. */
const HOLD_JOB_SQL = `
UPDATE mailroom_message SET visible_at = now() + $2 * interval '1 millisecond' WHERE id = $1 AND lease_id IS NULL`;

/** The answered job, unless a consumer of the activity queue claimed it meanwhile (its answer is then stale). */
const DELETE_JOB_SQL = `DELETE FROM mailroom_message WHERE id = $1 AND lease_id IS NULL`;

/**
 * The inline attempt failed: it counts as the job's first delivery (delivery count and
 * attempts), and the job is handed to the activity queue after the queue's retry delay,
 * which wakes its consumers then as a nack would.
 */
const RETRY_JOB_SQL = `
WITH job AS (
  UPDATE mailroom_message m
     SET delivery_count = m.delivery_count + 1, attempts = m.attempts + 1,
         visible_at = now() + ${retryDelaySql(QUEUE_RETRY_POLICY, 'm.attempts')} * interval '1 millisecond',
         last_error = $2, first_failed_at = coalesce(m.first_failed_at, now()), last_failed_at = now()
    FROM mailroom_queue q
   WHERE m.id = $1 AND m.lease_id IS NULL AND q.id = m.queue_id
  RETURNING m.queue_id
)
SELECT pg_notify('${MESSAGE_CHANNEL}', queue_id::text) FROM job`;

interface Lane {
  limit: number;
  leaseMs: number;
}

/**
 * Activities run by the process whose transition invoked them, right after that
 * transition commits: no queue hop to start them and none to answer. The job is still
 * committed with the transition, on the activity queue, but invisible for the queue's
 * lease time, which the run extends while it lasts; its answer is applied in one
 * transaction that also deletes the job. If the process dies, the job becomes deliverable
 * and a consumer runs it (at-least-once); a failed attempt counts as the job's first
 * delivery and the queue retries the rest (retry policy, `activityAttempts`, dead letter).
 * The answer's transition is exactly-once by the invocation's wait row, consumed under
 * the instance's row lock: a second answer to one invocation is stale.
 */
export class InlineActivities {
  private readonly lanes = new Map<WorkflowDefinition, Lane>();
  private readonly running = new Map<WorkflowDefinition, number>();
  private readonly runs = new Set<Promise<void>>();

  constructor(
    private readonly services: MailroomServices,
    private readonly engine: WorkflowEngine,
  ) {}

  /** This process consumes `definition`'s activity queue: up to `limit` of its invocations run inline. */
  enable(definition: WorkflowDefinition, limit: number, leaseMs: number): void {
    this.lanes.set(definition, { limit, leaseMs });
  }

  /**
   * Takes the invocation whose job `tx` is about to send, if a slot is free: the delay to
   * send it with (the run's lease), or undefined when the queue is to run it.
   */
  claim(definition: WorkflowDefinition, tx: EntityManager, job: ActivityJob, jobId: string): number | undefined {
    const lane = this.lanes.get(definition);
    const busy = this.running.get(definition) ?? 0;
    if (!lane || busy >= lane.limit) return undefined;
    const taken = AfterCommit.of(tx.connection).add(
      tx,
      () => this.start(definition, lane, job, jobId),
      () => this.release(definition),
    );
    if (!taken) return undefined;
    this.running.set(definition, busy + 1);
    return lane.leaseMs;
  }

  /** Waits (up to `ms`) for inline runs to finish; what is left is the queue's after the lease. */
  async stop(ms: number): Promise<void> {
    this.lanes.clear();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([Promise.allSettled([...this.runs]), timeout]);
    clearTimeout(timer);
  }

  private start(definition: WorkflowDefinition, lane: Lane, job: ActivityJob, jobId: string): void {
    const run = this.run(definition, lane, job, jobId)
      .catch(() => undefined) // the job stays on the queue: it runs there after the lease
      .finally(() => {
        this.release(definition);
        this.runs.delete(run);
      });
    this.runs.add(run);
  }

  private release(definition: WorkflowDefinition): void {
    this.running.set(definition, (this.running.get(definition) ?? 1) - 1);
  }

  private async run(definition: WorkflowDefinition, lane: Lane, job: ActivityJob, jobId: string): Promise<void> {
    const manager = this.services.dataSource.manager;
    const hold = setInterval(
      () => void query(manager, HOLD_JOB_SQL, [jobId, lane.leaseMs]).catch(() => undefined),
      Math.max(50, Math.floor(lane.leaseMs / 3)),
    );
    hold.unref();
    let event: WorkflowEnvelope['event'];
    try {
      const output = await definition.activities.get(job.src)!({
        input: job.input,
        idempotencyKey: `${job.instanceId}:${job.invocation}:${jobId}`,
        key: job.key,
      });
      event = { type: `xstate.done.actor.${job.invocation}`, output };
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      if (definition.activityAttempts > 1 && !(error instanceof NonRetryableError)) {
        await query(manager, RETRY_JOB_SQL, [jobId, storableText(message)]);
        return;
      }
      event = { type: `xstate.error.actor.${job.invocation}`, error: { message } };
    } finally {
      clearInterval(hold);
    }
    const answer: WorkflowEnvelope = { key: job.key, kind: 'result', event, wait: jobId };
    try {
      await this.services.dataSource.transaction(async (tx) => {
        await this.engine.deliver(definition, answer, tx, undefined, jobId);
      });
    } catch {
      // The transition failed (an action threw, say): the answer goes to the workflow's
      // queue as the activity queue's consumer sends it, retried and dead-lettered there.
      await this.services.dataSource.transaction(async (tx) => {
        await this.services.send(definition.queue, answer, { id: answerId(jobId), manager: tx });
        await query(tx, DELETE_JOB_SQL, [jobId]);
      });
    }
  }
}

/** A uuid determined by the job's id: the same answer to the same job has the same message id. */
export function answerId(id: string): string {
  const h = createHash('sha256').update(`workflow-answer:${id}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
