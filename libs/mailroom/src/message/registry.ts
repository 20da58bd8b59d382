/**
 * Typed payloads: augment these interfaces once, and `send`, `publish` and the handlers'
 * body types agree at compile time:
 *
 *   declare module '@mailroom/core' {
 *     interface MailroomQueues { orders: OrderPlaced }
 *     interface MailroomTopics { 'order-events': OrderEvent }
 *   }
 *
 * Names that are not registered take any body (`any`, so an unregistered handler may
 * declare the body type it expects).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface MailroomQueues {}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface MailroomTopics {}

/* eslint-disable @typescript-eslint/no-explicit-any */
export type QueueBody<Q extends string> = Q extends keyof MailroomQueues ? MailroomQueues[Q] : any;
export type TopicBody<T extends string> = T extends keyof MailroomTopics ? MailroomTopics[T] : any;
