import { AsyncLocalStorage } from 'node:async_hooks';
import {
  applyDecorators,
  Inject,
  Injectable,
  SetMetadata,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { from, lastValueFrom, type Observable } from 'rxjs';
import type { EntityManager } from 'typeorm';
import { MailroomServices } from '../services/mailroom.services';
import { InvalidRequestError } from '../errors/mailroom.errors';
import { assertName } from '../errors/validate';
import { recordInInbox } from './inbox';

export interface ExactlyOnceOptions {
  /** The inbox key's consumer part: stable across deploys, unique per handler. */
  consumer: string;
  /** The incoming message's id: RPC data or HTTP body, plus the execution context for headers. */
  idFrom: (data: unknown, context: ExecutionContext) => string;
}

const EXACTLY_ONCE = Symbol('mailroom:exactly-once');
const transaction = new AsyncLocalStorage<EntityManager>();

/**
 * The transaction an `@ExactlyOnce` handler runs in: write its effects through this
 * manager and they commit together with the inbox row, or not at all.
 */
export function inboxTransaction(): EntityManager {
  const manager = transaction.getStore();
  if (!manager) throw new Error('inboxTransaction() is only available inside an @ExactlyOnce handler.');
  return manager;
}

/**
 * Exactly-once for messages from outside Mailroom (a Nest microservice handler fed by
 * RabbitMQ, NATS, Kafka, TCP; an HTTP webhook): the inbox row (consumer, id) and the
 * handler's writes through `inboxTransaction()` commit in one transaction. A message
 * whose id was already processed is skipped (the handler returns undefined).
 */
export function ExactlyOnce(options: ExactlyOnceOptions): MethodDecorator {
  assertName(options.consumer, 'consumer');
  return applyDecorators(SetMetadata(EXACTLY_ONCE, options), UseInterceptors(ExactlyOnceInterceptor));
}

@Injectable()
export class ExactlyOnceInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    @Inject(MailroomServices) private readonly services: MailroomServices,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<ExactlyOnceOptions>(EXACTLY_ONCE, context.getHandler());
    const data =
      context.getType() === 'http' ? context.switchToHttp().getRequest().body : context.switchToRpc().getData();
    const id = options.idFrom(data, context);
    if (typeof id !== 'string' || id.length === 0 || id.length > 255) {
      throw new InvalidRequestError('id', `@ExactlyOnce(${options.consumer}): idFrom must return a non-empty string`);
    }
    return from(
      this.services.dataSource.transaction(async (manager) => {
        if (!(await recordInInbox(manager, options.consumer, id))) return undefined;
        return transaction.run(manager, () => lastValueFrom(next.handle(), { defaultValue: undefined }));
      }),
    );
  }
}
