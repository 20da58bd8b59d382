import type { QueueBody, TopicBody } from '../message/registry';
import type { OnMessageOptions, OnTopicOptions } from './handler.options';
import type { MessageContext } from './message-context';

export const ON_MESSAGE = Symbol('mailroom:on-message');

/** What the decorators record; the explorer reads it at start. Nothing else happens here. */
export type HandlerMetadata =
  | { kind: 'queue'; queue: string; options: OnMessageOptions }
  | { kind: 'topic'; topic: string; options: OnTopicOptions };

type Handler<TBody> = (body: TBody, context: MessageContext) => unknown;

/**
 * Consumes `queue` with this method: called with the body and a MessageContext; resolving
 * acks, throwing nacks with the retry delay (at-least-once unless `ackMode: 'auto'`).
 */
export function OnMessage<Q extends string>(queue: Q, options: OnMessageOptions = {}) {
  return <F extends Handler<QueueBody<Q>>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<F>,
  ) => {
    Reflect.defineMetadata(ON_MESSAGE, { kind: 'queue', queue, options } satisfies HandlerMetadata, descriptor.value!);
  };
}

/** Consumes a subscription of `topic` (created with its filter at start if missing). */
export function OnTopic<T extends string>(topic: T, options: OnTopicOptions = {}) {
  return <F extends Handler<TopicBody<T>>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<F>,
  ) => {
    Reflect.defineMetadata(ON_MESSAGE, { kind: 'topic', topic, options } satisfies HandlerMetadata, descriptor.value!);
  };
}
