import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { MailroomServices } from '../services/mailroom.services';
import { mailroomEvents, type MailroomEventMap, type MailroomEventName } from '../handlers/handler.events';

const ON_MAILROOM_EVENT = 'mailroom:on-event';

/**
 * Subscribes a provider method to handler failures, like `@OnWorkerEvent('failed')` in
 * @nestjs/bullmq: `@OnMailroomEvent('failed') onFailed(failure: HandlerFailure) {...}`.
 */
export function OnMailroomEvent<E extends MailroomEventName>(event: E) {
  return <F extends (...args: MailroomEventMap[E]) => unknown>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<F>,
  ) => {
    Reflect.defineMetadata(ON_MAILROOM_EVENT, event, descriptor.value!);
  };
}

/** At module init, before any handler runs, wires every `@OnMailroomEvent` method to the client's events. */
@Injectable()
export class MailroomEventsExplorer implements OnModuleInit {
  constructor(
    @Inject(MailroomServices) private readonly services: MailroomServices,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    const events = mailroomEvents(this.services);
    for (const wrapper of this.discovery.getProviders()) {
      const prototype = wrapper.metatype?.prototype;
      if (!prototype || typeof prototype !== 'object') continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const event: MailroomEventName | undefined = Reflect.getMetadata(ON_MAILROOM_EVENT, prototype[method]);
        if (!event) continue;
        if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
          throw new Error(
            `@OnMailroomEvent on ${wrapper.name?.toString()}.${method}: the provider must be a default-scope singleton.`,
          );
        }
        const instance = wrapper.instance as Record<string, (...args: unknown[]) => unknown>;
        events.on(event, instance[method].bind(instance));
      }
    }
  }
}
