import { EventEmitter } from 'node:events';
import type { LoggerService } from '@nestjs/common';
import type { ReplaySubject } from 'rxjs';

/** What `status` emits on MailroomServer and MailroomClientProxy (as TcpStatus does on the TCP transport). */
export type MailroomStatus = 'connected' | 'disconnected';

/** What `on()` listens to, as `RmqEvents` on the RabbitMQ transport. */
export type MailroomTransportEvents = {
  connect: () => void;
  disconnect: () => void;
  error: (error: unknown) => void;
};

/**
 * The status observable and `on()` listeners shared by the server and the client proxy:
 * every status change is also a `connect` / `disconnect` event, and an error goes to the
 * `error` listeners, or to the log when there is none (an EventEmitter would throw it).
 */
export class TransportEvents {
  private readonly emitter = new EventEmitter();
  private current: MailroomStatus | null = null;

  constructor(
    private readonly status$: ReplaySubject<MailroomStatus>,
    private readonly logger: LoggerService,
  ) {}

  on<E extends keyof MailroomTransportEvents>(event: E, callback: MailroomTransportEvents[E]): void {
    this.emitter.on(event, callback);
  }

  status(status: MailroomStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.status$.next(status);
    this.emitter.emit(status === 'connected' ? 'connect' : 'disconnect');
  }

  error(error: unknown, what: string): void {
    if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error);
    else this.logger.error(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
