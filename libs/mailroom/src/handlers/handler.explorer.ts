import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { MailroomServices } from '../services/mailroom.services';
import { resolveConsumerSpec, type ConsumerSpec, type OnTopicOptions } from './handler.options';
import { ON_MESSAGE, type HandlerMetadata } from './on-message.decorator';
import { PushConsumer, type MessageHandler } from './push.consumer';

interface FoundHandler {
  where: string;
  metadata: HandlerMetadata;
  spec: ConsumerSpec;
  handler: MessageHandler;
}

/**
 * Finds `@OnMessage` / `@OnTopic` methods on the app's providers at start, declares
 * what they consume (missing queues, topics, subscriptions), and runs a PushConsumer for
 * each. Every mistake it can see fails the start with what to do about it.
 */
@Injectable()
export class HandlerExplorer {
  private consumers: PushConsumer[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly services: MailroomServices,
  ) {}

  async start(): Promise<void> {
    const found = this.discover();
    const queues: string[] = [];
    for (const handler of found) queues.push(await this.declare(handler));
    this.consumers = found.map((h, i) => new PushConsumer(this.services, queues[i], h.spec, h.handler));
    for (const [i, consumer] of this.consumers.entries()) {
      const { options } = await this.services.queues.get(queues[i]);
      consumer.start(found[i].spec.leaseMs ?? options.leaseMs);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.stop()));
    this.consumers = [];
  }

  private discover(): FoundHandler[] {
    const found: FoundHandler[] = [];
    const byConsumer = new Map<string, string>();
    for (const wrapper of this.discovery.getProviders()) {
      const prototype = wrapper.metatype?.prototype;
      if (!prototype || typeof prototype !== 'object') continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const metadata: HandlerMetadata | undefined = Reflect.getMetadata(ON_MESSAGE, prototype[method]);
        if (!metadata) continue;
        const where = `${wrapper.name?.toString() ?? prototype.constructor.name}.${method}`;
        assertSingleton(wrapper, where);
        const spec = resolveConsumerSpec(metadata.options, where, metadata.kind === 'topic');
        const other = byConsumer.get(spec.consumer);
        if (other) {
          throw new Error(
            `Mailroom handlers ${other} and ${where} both use consumer name "${spec.consumer}". ` +
              'A consumer name is the inbox key and must be unique: give one of them another `consumer`.',
          );
        }
        byConsumer.set(spec.consumer, where);
        const instance = wrapper.instance as Record<string, (...args: unknown[]) => unknown>;
        found.push({ where, metadata, spec, handler: instance[method].bind(instance) });
      }
    }
    return found;
  }

  /** Creates what the handler consumes if missing; returns the queue to consume. */
  private async declare({ metadata, spec }: FoundHandler): Promise<string> {
    if (metadata.kind === 'queue') {
      await this.services.ensureQueue(metadata.queue, metadata.options.queueOptions);
      return metadata.queue;
    }
    const options: OnTopicOptions = metadata.options;
    await this.services.topics.create(metadata.topic);
    const { subscription } = await this.services.subscriptions.subscribe(
      metadata.topic,
      options.subscription ?? spec.consumer,
      {
        queue: options.queue,
        routingKey: options.routingKey,
        headers: options.headers,
        queueOptions: options.queue === undefined ? options.queueOptions : undefined,
      },
    );
    return subscription.queue;
  }
}

function assertSingleton(wrapper: InstanceWrapper, where: string): void {
  if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
    throw new Error(
      `Mailroom handler ${where} is on a request-scoped or transient provider (or one that depends on such). ` +
        'Handlers run outside any request: make the provider a default-scope singleton, and resolve ' +
        'request-scoped collaborators inside the handler with ModuleRef.resolve().',
    );
  }
}
