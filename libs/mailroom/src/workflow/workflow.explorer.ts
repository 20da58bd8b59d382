import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { MailroomServices } from '../services/mailroom.services';
import { resolveConsumerSpec, type OnMessageOptions } from '../handlers/handler.options';
import { PushConsumer, type MessageHandler } from '../handlers/push.consumer';
import { WORKFLOW, type Correlation } from './workflow.decorators';
import type { WorkflowDefinition } from './workflow.definition';
import { WorkflowHandlers } from './workflow.handlers';
import { Workflows } from './workflow.service';

/**
 * Finds `@Workflow` providers at start, registers them (and their versions) in the
 * database, declares their queues and runs their consumers: the workflow's own queue
 * (grouped by key, so one key's events apply in arrival order), each correlated queue,
 * and the activity queue.
 */
@Injectable()
export class WorkflowExplorer {
  private consumers: PushConsumer[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(MailroomServices) private readonly services: MailroomServices,
    private readonly workflows: Workflows,
  ) {}

  async start(): Promise<void> {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance || typeof instance !== 'object' || !Reflect.getMetadata(WORKFLOW, instance.constructor)) continue;
      await this.run(await this.workflows.register(instance));
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.consumers.map((c) => c.stop()), this.workflows.engine.inline.stop(SHUTDOWN_MS)]);
    await this.workflows.engine.timers.stop();
    this.workflows.engine.wakeups.stop();
    this.consumers = [];
  }

  private async run(definition: WorkflowDefinition): Promise<void> {
    const handlers = new WorkflowHandlers(this.services, this.workflows.engine, definition);
    const concurrency = definition.options.concurrency ?? 4;
    // Grouped by key: a claim holds at most one message per key, so a transaction may take
    // several (timers falling due together) and each is still its key's only one in flight.
    await this.consume(
      definition.queue,
      { consumer: definition.queue, mode: 'exactly-once', concurrency, transactionBatch: BATCH },
      { ordering: 'grouped' },
      (body, ctx) => handlers.onEnvelope(body as never, ctx),
    );
    for (const [source, entries] of sources(definition)) {
      const queue = source.startsWith('topic:') ? await this.subscribe(definition, entries) : source;
      // A queue grouped by key (its messages carry the correlation key, or a coarser one,
      // as group key) is consumed `concurrency` at a time: the claim keeps each group in
      // order. Any other, one transaction at a time, which keeps arrival order; a batch
      // applies its messages one after another in that order.
      const grouped = (await this.services.ensureQueue(queue)).options.ordering === 'grouped';
      const consumer = `${definition.queue}.${source.replace(':', '.')}`;
      const options = { consumer, mode: 'exactly-once' as const, transactionBatch: BATCH };
      await this.consume(queue, grouped ? { ...options, concurrency } : options, undefined, (body, ctx) =>
        handlers.onCorrelated(entries, body, ctx, grouped),
      );
    }
    if (definition.activities.size > 0) {
      const info = await this.consume(
        definition.activityQueue,
        { consumer: definition.activityQueue, concurrency },
        undefined,
        (body, ctx) => handlers.onActivity(body as never, ctx),
      );
      // Inline runs besides the queue's: an answering transaction claims the next step's slot before it frees its own.
      this.workflows.engine.inline.enable(definition, 2 * concurrency, info.options.leaseMs);
    }
  }

  /** The workflow's subscription of a correlated topic; its queue is what to consume. */
  private async subscribe(definition: WorkflowDefinition, entries: [string, Correlation][]): Promise<string> {
    const [, correlation] = entries[0];
    await this.services.topics.create(correlation.topic!);
    const { subscription } = await this.services.subscriptions.subscribe(correlation.topic!, definition.queue, {
      routingKey: correlation.routingKey,
    });
    return subscription.queue;
  }

  private async consume(
    queue: string,
    options: OnMessageOptions,
    queueOptions: object | undefined,
    handler: MessageHandler,
  ) {
    const spec = resolveConsumerSpec(options, `workflow consumer ${options.consumer}`, false);
    const info = await this.services.ensureQueue(queue, queueOptions);
    const consumer = new PushConsumer(this.services, queue, spec, handler);
    this.consumers.push(consumer);
    consumer.start(info.options.leaseMs);
    return info;
  }
}

/** Messages one exactly-once transaction of a workflow's consumers applies at most. */
const BATCH = 10;
/** How long shutdown waits for activities running inline (the consumers' own default). */
const SHUTDOWN_MS = 10_000;

/** Correlations by source (`<queue>` or `topic:<topic>`); each names exactly one. */
function sources(definition: WorkflowDefinition): Map<string, [string, Correlation][]> {
  const bySource = new Map<string, [string, Correlation][]>();
  for (const [type, correlation] of Object.entries(definition.options.correlate ?? {})) {
    if ((correlation.from === undefined) === (correlation.topic === undefined)) {
      throw new Error(
        `@Workflow ${definition.name}: correlation ${type} needs exactly one of \`from\` (a queue) or \`topic\`.`,
      );
    }
    const source = correlation.from ?? `topic:${correlation.topic}`;
    bySource.set(source, [...(bySource.get(source) ?? []), [type, correlation]]);
  }
  return bySource;
}
