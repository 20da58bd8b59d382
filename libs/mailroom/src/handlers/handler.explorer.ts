import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { MailroomServices } from '../services/mailroom.services';
import type { ConsumerSpec, OnTopicOptions } from './handler.options';
import { ON_MESSAGE, type HandlerMetadata } from './on-message.decorator';
import { PushConsumers, type HandlerDeclaration } from './push.consumers';

interface FoundHandler extends HandlerDeclaration {
  metadata: HandlerMetadata;
}

/**
 * Finds `@OnMessage` / `@OnTopic` methods on the app's providers at start, declares
 * what they consume (missing queues, topics, subscriptions), and runs a PushConsumer for
 * each (PushConsumers, the start-up path it shares with the microservices transport).
 * Every mistake it can see fails the start with what to do about it.
 */
@Injectable()
export class HandlerExplorer {
  private readonly consumers: PushConsumers;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly services: MailroomServices,
  ) {
    this.consumers = new PushConsumers(services);
  }

  start(): Promise<void> {
    return this.consumers.start(this.discover(), (handler) => this.declare(handler));
  }

  /** Whether stop() has begun: no handler starts a call any more (running ones may be finishing). */
  get stopping(): boolean {
    return this.consumers.stopping;
  }

  stop(): Promise<void> {
    return this.consumers.stop();
  }

  private discover(): FoundHandler[] {
    const found: FoundHandler[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const prototype = wrapper.metatype?.prototype;
      if (!prototype || typeof prototype !== 'object') continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const metadata: HandlerMetadata | undefined = Reflect.getMetadata(ON_MESSAGE, prototype[method]);
        if (!metadata) continue;
        const where = `${wrapper.name?.toString() ?? prototype.constructor.name}.${method}`;
        assertSingleton(wrapper, where);
        const instance = wrapper.instance as Record<string, (...args: unknown[]) => unknown>;
        const handler = instance[method].bind(instance);
        found.push({ where, metadata, options: metadata.options, topic: metadata.kind === 'topic', handler });
      }
    }
    return found;
  }

  /** Creates what the handler consumes if missing; returns the queue to consume. */
  private async declare({ metadata, spec }: FoundHandler & { spec: ConsumerSpec }): Promise<string> {
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
