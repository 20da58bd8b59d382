/**
 * The one controller the conformance suite serves over every transport. It uses only what
 * Nest's own contexts offer (`getPattern()`, `getMetadata()`), so it runs unchanged over
 * Transport.TCP and over Mailroom.
 */
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException, type PacketMetadata } from '@nestjs/microservices';
import { of } from 'rxjs';

/** What every built-in context and MailroomContext offers. */
interface RpcContext {
  getPattern(): string;
  getMetadata(): PacketMetadata | undefined;
}

export interface SeenEvent {
  data: unknown;
  pattern: string;
  metadata: PacketMetadata | null;
}

/** Events the handlers saw, and attempts of the flaky handler by event id. */
export const seen = { events: [] as SeenEvent[], flakyAttempts: new Map<string, number>() };

@Controller()
export class ConformanceController {
  @MessagePattern({ cmd: 'sum' })
  sum(@Payload() numbers: number[]) {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('conf.pattern')
  pattern(@Ctx() ctx: RpcContext) {
    return ctx.getPattern();
  }

  @MessagePattern({ cmd: 'pattern', v: 2 })
  objectPattern(@Ctx() ctx: RpcContext) {
    return ctx.getPattern();
  }

  @MessagePattern('conf.metadata')
  metadata(@Ctx() ctx: RpcContext) {
    return ctx.getMetadata() ?? null;
  }

  @MessagePattern('conf.stream')
  stream() {
    return of(1, 2, 3);
  }

  @MessagePattern('conf.rpc-string')
  rpcString() {
    throw new RpcException('no such account');
  }

  @MessagePattern('conf.rpc-object')
  rpcObject() {
    throw new RpcException({ code: 'E42', reason: 'over the limit' });
  }

  @MessagePattern('conf.crash')
  crash() {
    throw new Error('a detail the caller must not see');
  }

  @EventPattern<string>('conf.event')
  onEvent(@Payload() data: unknown, @Ctx() ctx: RpcContext) {
    seen.events.push({ data, pattern: ctx.getPattern(), metadata: ctx.getMetadata() ?? null });
  }

  /** Fails the first attempt at each event id. */
  @EventPattern<string>('conf.flaky')
  flaky(@Payload() data: { id: string }) {
    const attempts = (seen.flakyAttempts.get(data.id) ?? 0) + 1;
    seen.flakyAttempts.set(data.id, attempts);
    if (attempts === 1) throw new Error('first attempt fails');
  }
}
