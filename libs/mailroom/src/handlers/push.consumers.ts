import type { MailroomServices } from '../services/mailroom.services';
import { resolveConsumerSpec, type ConsumerSpec, type OnMessageOptions } from './handler.options';
import { PushConsumer, type MessageHandler } from './push.consumer';

/** A handler to run: where it is declared (named in every error), its options and the function. */
export interface HandlerDeclaration {
  where: string;
  options: OnMessageOptions;
  /** A topic's handler (its subscription is named after the consumer unless told otherwise). */
  topic: boolean;
  handler: MessageHandler;
}

/**
 * The one start-up path of push handlers, shared by `@OnMessage` / `@OnTopic` methods
 * (HandlerExplorer) and Nest microservice patterns (MailroomServer): every handler's
 * options are checked before anything is created, then what each consumes is declared,
 * then a PushConsumer runs for each; `stop()` stops them all. A mistake fails the start
 * with the handler's `where` and what to do, and leaves nothing running.
 */
export class PushConsumers {
  private consumers: PushConsumer[] = [];
  private stopBegun = false;

  constructor(private readonly services: MailroomServices) {}

  /**
   * `declare` creates what one handler consumes if missing (queue, topic, subscription)
   * and returns the queue to consume; it sees the handler's resolved spec.
   */
  async start<H extends HandlerDeclaration>(
    handlers: H[],
    declare: (handler: H & { spec: ConsumerSpec }) => Promise<string>,
  ): Promise<void> {
    const planned = plan(handlers);
    const queues: string[] = [];
    for (const handler of planned) queues.push(await declare(handler));
    // Every lookup before the first start: a failure then leaves nothing running.
    const leases = [];
    for (const [i, { spec }] of planned.entries()) {
      leases.push(spec.leaseMs ?? (await this.services.queues.ref(queues[i])).options.leaseMs);
    }
    this.stopBegun = false;
    this.consumers = planned.map(({ spec, handler }, i) => new PushConsumer(this.services, queues[i], spec, handler));
    for (const [i, consumer] of this.consumers.entries()) consumer.start(leases[i]);
  }

  /**
   * Whether a stop has begun: every consumer has stopped claiming and starts no call;
   * running calls may still be finishing.
   */
  get stopping(): boolean {
    return this.stopBegun;
  }

  /** Running calls finish (up to each handler's shutdown timeout); unstarted messages return without an attempt. */
  async stop(): Promise<void> {
    const consumers = this.consumers;
    this.consumers = [];
    this.stopBegun = true; // and each consumer's stop() sets its own flag before this tick ends
    await Promise.all(consumers.map((c) => c.stop()));
  }
}

/** Each handler's resolved options; two handlers may not share a consumer name (it is the inbox key). */
function plan<H extends HandlerDeclaration>(handlers: H[]): (H & { spec: ConsumerSpec })[] {
  const byConsumer = new Map<string, string>();
  return handlers.map((handler) => {
    const spec = resolveConsumerSpec(handler.options, handler.where, handler.topic);
    const other = byConsumer.get(spec.consumer);
    if (other) {
      throw new Error(
        `Mailroom handlers ${other} and ${handler.where} both use consumer name "${spec.consumer}". ` +
          'A consumer name is the inbox key and must be unique: give one of them another `consumer`.',
      );
    }
    byConsumer.set(spec.consumer, handler.where);
    return { ...handler, spec };
  });
}
