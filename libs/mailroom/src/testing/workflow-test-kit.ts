import type { StateValue } from 'xstate';
import { query } from '../database/transaction';
import type { WorkflowInstanceDetail } from '../workflow/workflow.admin';
import { WorkflowInstanceNotFoundError } from '../workflow/workflow.errors';
import type { Workflows, WorkflowEvent, WorkflowRef, WorkflowResult } from '../workflow/workflow.service';
import { DELETE_MESSAGE_SQL, DUE_TIMERS_SQL, INSTANCE_ID_SQL } from '../workflow/workflow.sql';

/**
 * Drives workflows in a test against the real database: start, send, and `advance` a
 * virtual clock so that timers due within it fire now, through the same transition as
 * in production (their queued messages are taken out of the queue). Activities still run
 * on their queue: `waitFor` a state instead of sleeping.
 *
 * ```ts
 * const kit = new WorkflowTestKit(app.get(Workflows));
 * await kit.start(OrderWorkflow, 'o-1', { amount: 10 });
 * await kit.advance(OrderWorkflow, 'o-1', 15 * 60_000); // PAYMENT_TIMEOUT fires
 * expect(await kit.state(OrderWorkflow, 'o-1')).toBe('cancelled');
 * ```
 */
export class WorkflowTestKit {
  private offsetMs = 0;

  constructor(private readonly workflows: Workflows) {}

  start(ref: WorkflowRef, key: string, input?: unknown): Promise<WorkflowResult> {
    return this.workflows.start(ref, key, input);
  }

  send(ref: WorkflowRef, key: string, event: WorkflowEvent): Promise<WorkflowResult> {
    return this.workflows.send(ref, key, event);
  }

  /**
   * Moves this kit's clock `ms` ahead and fires, soonest first, every timer of the
   * instance due by it, including timers those firings arm. Returns how many fired.
   */
  async advance(ref: WorkflowRef, key: string, ms: number): Promise<number> {
    this.offsetMs += ms;
    const definition = this.workflows.definition(ref);
    const dataSource = this.workflows.admin.dataSource;
    const [instance] = await query<{ id: string }>(dataSource.manager, INSTANCE_ID_SQL, [definition.name, key]);
    if (!instance) throw new WorkflowInstanceNotFoundError(definition.name, key);
    for (let fired = 0; ; fired++) {
      const due = await dataSource.transaction(async (tx) => {
        const [timer] = await query<{ message_id: string; event: WorkflowEvent }>(tx, DUE_TIMERS_SQL, [
          instance.id,
          this.offsetMs,
        ]);
        if (!timer) return false;
        await query(tx, DELETE_MESSAGE_SQL, [timer.message_id]);
        await this.workflows.engine.deliver(
          definition,
          { key, kind: 'timer', event: timer.event, wait: timer.message_id },
          tx,
        );
        return true;
      });
      if (!due) return fired;
    }
  }

  async state(ref: WorkflowRef, key: string): Promise<StateValue> {
    return (await this.get(ref, key)).state;
  }

  get(ref: WorkflowRef, key: string): Promise<WorkflowInstanceDetail> {
    return this.workflows.get(ref, key);
  }

  /** Polls until `check` holds for the instance (an activity answered, say); fails after `ms`. */
  async waitFor(
    ref: WorkflowRef,
    key: string,
    check: (instance: WorkflowInstanceDetail) => boolean,
    ms = 10_000,
  ): Promise<WorkflowInstanceDetail> {
    const deadline = Date.now() + ms;
    for (;;) {
      const instance = await this.get(ref, key);
      if (check(instance)) return instance;
      if (Date.now() > deadline)
        throw new Error(
          `workflow ${String(key)}: condition not met within ${ms} ms (state ${JSON.stringify(instance.state)})`,
        );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
