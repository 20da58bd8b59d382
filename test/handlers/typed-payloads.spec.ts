import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { OnMessage, OnTopic, type MailroomClient } from '@mailroom/core';

interface OrderPlaced {
  orderId: number;
}

declare module '@mailroom/core' {
  interface MailroomQueues {
    'typed-orders': OrderPlaced;
  }
  interface MailroomTopics {
    'typed-events': { kind: 'created' | 'deleted' };
  }
}

/**
 * Compile-time checks: `npx tsc --noEmit` (run by CI before the tests) fails if any
 * `@ts-expect-error` below stops being an error, i.e. if the registries stop binding
 * send, publish and handlers to one body type.
 */
@Injectable()
class TypedHandlers {
  @OnMessage('typed-orders')
  charge(order: OrderPlaced) {
    return order.orderId;
  }

  // @ts-expect-error a handler of typed-orders cannot take another body type
  @OnMessage('typed-orders')
  wrongBody(order: { sku: string }) {
    return order.sku;
  }

  @OnTopic('typed-events')
  onEvent(event: { kind: 'created' | 'deleted' }) {
    return event.kind;
  }

  @OnMessage('untyped')
  anything(body: Buffer) {
    return body;
  }
}

function producers(client: MailroomClient) {
  void client.send('typed-orders', { orderId: 1 });
  // @ts-expect-error the body must be an OrderPlaced
  void client.send('typed-orders', { orderId: 'one' });
  void client.publish('typed-events', { kind: 'created' });
  // @ts-expect-error not a kind the topic carries
  void client.publish('typed-events', { kind: 'archived' });
  void client.send('untyped', 'any body at all');
}

describe('typed payloads', () => {
  it('are checked by the compiler (see the @ts-expect-error lines)', () => {
    expect(typeof producers).toBe('function');
    expect(new TypedHandlers().charge({ orderId: 7 })).toBe(7);
  });
});
