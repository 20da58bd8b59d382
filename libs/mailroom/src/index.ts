// Setting up: the Nest module, its options, and the schema it needs.
export { MailroomModule } from './module/mailroom.module';
export type { MailroomOptions } from './client/mailroom.options';
export type { MailroomFeature } from './module/mailroom.feature';
export { mailroomEntities } from './module/mailroom.entities';
export { mailroomMigrations } from '../../../migrations';

// Administering queues.
export { queueDefaults } from './queue/queue.options';
export type { QueueOptions, QueueOptionsInput, QueueOrdering } from './queue/queue.options';
export type { QueueInfo } from './queue/queue.service';
export type { QueueStats } from './queue/queue.sql';

// Publish/subscribe.
export type { TopicInfo } from './client/mailroom.client';
export type { Publication, PublishResult } from './topic/topic.service';
export type { SubscribeOptions, SubscriptionInfo } from './subscription/subscription.service';

// Handlers: decorate provider methods; typed payloads through the registries.
export { OnMessage, OnTopic } from './handlers/on-message.decorator';
export type { AckMode, OnMessageOptions, OnTopicOptions } from './handlers/handler.options';
export type { MessageContext } from './handlers/message-context';
export type { RetryPolicy } from './queue/retry.policy';
export type { MailroomQueues, MailroomTopics, QueueBody, TopicBody } from './message/registry';

// Handler failures: logged (rate limited) and emitted; inject MailroomEvents or use @OnMailroomEvent.
export { MailroomEvents } from './handlers/handler.events';
export type { HandlerFailure, MailroomEventMap, MailroomEventName } from './handlers/handler.events';
export { OnMailroomEvent } from './module/mailroom-events.explorer';

// Health: a @nestjs/terminus indicator (no terminus import needed).
export { MailroomHealthIndicator } from './module/mailroom.health';
export type { MailroomHealth } from './module/mailroom.health';

// Exactly-once: idempotent producers (client.producer) and inbox handlers (mode: 'exactly-once').
export { IdempotentProducer } from './producer/idempotent.producer';
export type { ProducerOptions } from './producer/idempotent.producer';
export type { ProducerStamp, SendOptions } from './producer/producer';
export type { DeliveryMode } from './handlers/handler.options';
export { ExactlyOnce, ExactlyOnceInterceptor, inboxTransaction } from './inbox/exactly-once.decorator';
export type { ExactlyOnceOptions } from './inbox/exactly-once.decorator';

// Outbox to external destinations (client.outbox(name).emit(pattern, data, { manager, key })).
export { Outbox } from './outbox/outbox';
export type { OutboxEmitOptions } from './outbox/outbox';
export type { OutboxOptions } from './outbox/outbox.options';
export { MESSAGE_ID_HEADER } from './outbox/outbox.destination';
export type {
  ClientDestination,
  OutboxDestinationConfig,
  OutboxMessage,
  WebhookDestination,
} from './outbox/outbox.destination';

// Producing and consuming.
export { MailroomClient } from './client/mailroom.client';
export type { ReceiveRequest } from './delivery/consumer.sessions';
export type { Headers, OutgoingMessage, ReceivedMessage, SendResult } from './message/message';
export type { TransactionOptions } from './database/transaction';
export type { NackOptions } from './delivery/settlement';
// What a message may hold: bodies nested at most MAX_BODY_DEPTH deep, durations up to MAX_DURATION_MS.
export { MAX_BODY_DEPTH, MAX_DURATION_MS } from './errors/validate';

// Operating: dead letters (client.listDeadLetters, getDeadLetter, countDeadLetters, redriveDeadLetters, purgeDeadLetters).
export type { DeadLetter, DeadLetterFilter, DeadLetterReason, RedriveOptions } from './dead-letter/dead-letter.service';

// Errors: every one has a stable `code`.
export {
  DatabaseUnavailableError,
  InvalidRequestError,
  InvalidTransitionError,
  LeaseLostError,
  MailroomError,
  MessageTooLargeError,
  NonRetryableError,
  ProducerFencedError,
  SequenceGapError,
  QueueDeletedError,
  QueueNotFoundError,
  SubscriptionNotFoundError,
  TopicNotFoundError,
} from './errors/mailroom.errors';

// Workflows: XState statecharts driven by messages, one instance per key, exactly-once transitions.
export { Workflow, WorkflowAction, WorkflowActivity } from './workflow/workflow.decorators';
export type { ActivityArgs, Correlation, WorkflowActionArgs, WorkflowOptions } from './workflow/workflow.decorators';
export type { WorkflowEffects } from './workflow/workflow.effects';
export { Workflows } from './workflow/workflow.service';
export type { WorkflowEvent, WorkflowRef, WorkflowResult } from './workflow/workflow.service';
export { WorkflowAdmin } from './workflow/workflow.admin';
export type { Unmappable } from './workflow/workflow.dry-run';
export type {
  InstanceFilter,
  WorkflowInfo,
  WorkflowInstanceDetail,
  WorkflowInstanceInfo,
  WorkflowTransition,
} from './workflow/workflow.admin';
export type { WorkflowStatus } from './workflow/workflow.entity';
export type { PersistedActor } from './actor/actor.entity';
export { activeIds, mermaid } from './workflow/workflow.diagram';
export type { StateTree } from './workflow/workflow.diagram';
export { WorkflowInstanceNotFoundError, WorkflowNotFoundError } from './workflow/workflow.errors';

// Testing: drive workflows in tests, firing due timers without waiting.
export { WorkflowTestKit } from './testing/workflow-test-kit';

// Nest microservices transport.
export { MailroomServer } from './transport/mailroom.server';
export type { MailroomServerOptions } from './transport/mailroom.server';
export { MailroomClientProxy } from './transport/mailroom.client-proxy';
export type { MailroomClientProxyOptions } from './transport/mailroom.client-proxy';
export { MailroomContext, TRANSPORT_HEADERS } from './transport/mailroom.context';
export { RequestTimeoutError } from './transport/transport.errors';
export type { MailroomTransportEvents, MailroomStatus } from './transport/transport.events';
export { destinationOf } from './transport/transport.pattern';

// Observability: Prometheus metrics (mount MailroomMetrics as a provider); traces follow
// messages through their headers with whatever OpenTelemetry SDK the application registers.
export { MailroomMetrics, MAILROOM_METRICS_OPTIONS } from './module/mailroom.metrics';
export type { MailroomMetricsOptions } from './module/mailroom.metrics';
export { observe } from './observability/instruments';
export type { MailroomObserver } from './observability/instruments';
