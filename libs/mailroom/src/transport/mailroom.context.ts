import { BaseRpcContext, type PacketMetadata } from '@nestjs/microservices';
import type { MessageContext } from '../handlers/message-context';

/** Headers that carry a Nest packet's envelope over Mailroom messages (the body is the serializer's output). */
export const TRANSPORT_HEADERS = {
  /** What getPattern() returns: a request's pattern as the client gave it (JSON for an object), an event's normalised. */
  pattern: 'mailroom-pattern',
  replyTo: 'mailroom-reply-to',
  correlationId: 'mailroom-correlation-id',
  /** Epoch ms after which the caller no longer waits: the request is dropped unhandled. */
  deadline: 'mailroom-deadline',
  /** JSON of the metadata a client's dispatch hook set (`ClientProxy#setOnDispatchHook`). */
  metadata: 'mailroom-metadata',
} as const;

type MailroomContextArgs = [MessageContext, string, PacketMetadata?];

/** The `@Ctx()` of Mailroom-transported handlers, like TcpContext: the delivery, the pattern, the metadata. */
export class MailroomContext extends BaseRpcContext<MailroomContextArgs> {
  /** The delivery behind the message: id, delivery count, receipt, headers, … */
  getMessage(): MessageContext {
    return this.args[0];
  }

  getHeaders(): Record<string, string> {
    return this.args[0].headers;
  }

  /** The pattern as TcpContext returns it: as the client gave it (as JSON), or as Nest normalised an event's. */
  getPattern(): string {
    return this.args[1];
  }

  /** The metadata the client attached to the packet, if any (as TcpContext#getMetadata). */
  getMetadata(): PacketMetadata | undefined {
    return this.args[2];
  }
}
