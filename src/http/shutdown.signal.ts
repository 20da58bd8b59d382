import { Injectable, type OnModuleDestroy } from '@nestjs/common';

/**
 * Aborts when the app begins to shut down, before Mailroom closes and the HTTP server
 * stops: a long-poll then answers at once instead of holding shutdown for up to 20 s.
 */
@Injectable()
export class ShutdownSignal implements OnModuleDestroy {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;

  onModuleDestroy(): void {
    this.controller.abort();
  }
}
