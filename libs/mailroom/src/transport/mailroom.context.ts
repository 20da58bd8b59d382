import { BaseRpcContext } from '@nestjs/microservices';
import type { MessageContext } from '../consumer/message-context';

/** Headers that carry request-reply over Mailroom queues. */
export const TRANSPORT_HEADERS = {
  replyTo: 'mailroom-reply-to',
  correlationId: 'mailroom-correlation-id',
  /** Epoch ms after which the caller no longer waits: the request is dropped unhandled. */
  deadline: 'mailroom-deadline',
} as const;

/** The `@Ctx()` of Mailroom-transported handlers: the delivery behind the message. */
export class MailroomContext extends BaseRpcContext<[MessageContext]> {
  getMessage(): MessageContext {
    return this.args[0];
  }

  getHeaders(): Record<string, string> {
    return this.args[0].headers;
  }
}
