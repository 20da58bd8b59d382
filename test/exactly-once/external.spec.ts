import {
  Body,
  Controller,
  Headers,
  HttpCode,
  Injectable,
  Post,
  UseInterceptors,
  type CallHandler,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, EventPattern, Payload, Transport } from '@nestjs/microservices';
import { TypeOrmModule } from '@nestjs/typeorm';
import { finalize, lastValueFrom, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExactlyOnce, inboxTransaction, mailroomEntities, MailroomModule } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { until } from '../support/wait';

let db: TestDatabase;
let app: INestApplication;
let port: number;
let baseUrl: string;

/**
 * Counts the microservice events @ExactlyOnce is done with, applied or skipped as
 * duplicates: it wraps @ExactlyOnce, whose answer comes after its transaction committed.
 */
let settledEventsDone = 0;
@Injectable()
class CountSettledEvents implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(finalize(() => (settledEventsDone += 1)));
  }
}

@Controller()
class Payments {
  /** An HTTP webhook: the sender's delivery id is in a header, and it may deliver twice. */
  @Post('webhooks/payments')
  @HttpCode(200)
  @ExactlyOnce({
    consumer: 'payments-webhook',
    idFrom: (_body, ctx) => ctx.switchToHttp().getRequest().headers['x-delivery-id'],
  })
  async paid(@Body() body: { amount: number }, @Headers('x-delivery-id') id: string) {
    await inboxTransaction().query(`INSERT INTO effects VALUES ($1, $2)`, [`http:${id}`, body.amount]);
    return { ok: true };
  }

  /** A Nest microservice event from outside (TCP here; RabbitMQ/NATS/Kafka alike), id in the payload. */
  @EventPattern('payment.settled')
  @ExactlyOnce({ consumer: 'settlements', idFrom: (data) => (data as { id: string }).id })
  @UseInterceptors(CountSettledEvents) // applied first, so it runs outside @ExactlyOnce's interceptor
  async settled(@Payload() event: { id: string; amount: number }) {
    await inboxTransaction().query(`INSERT INTO effects VALUES ($1, $2)`, [`tcp:${event.id}`, event.amount]);
  }

  @Post('webhooks/failing')
  @HttpCode(200)
  @ExactlyOnce({ consumer: 'failing-webhook', idFrom: (body) => (body as { id: string }).id })
  async failing(@Body() body: { id: string; fail: boolean }) {
    await inboxTransaction().query(`INSERT INTO effects VALUES ($1, 0)`, [`fail:${body.id}`]);
    if (body.fail) throw new Error('handler failed');
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  await db.dataSource.query(`CREATE TABLE effects (key text, amount int)`);
  app = await NestFactory.create(
    {
      module: class ExternalAppModule {},
      imports: [
        TypeOrmModule.forRoot({ type: 'postgres', url: db.url, entities: mailroomEntities, retryAttempts: 1 }),
        MailroomModule.forRoot({}),
      ],
      controllers: [Payments],
    },
    { logger: ['error'] },
  );
  port = 40_000 + Math.floor(Math.random() * 10_000);
  app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  baseUrl = await app.getUrl();
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const effects = (prefix: string): Promise<{ key: string }[]> =>
  db.dataSource.query(`SELECT key FROM effects WHERE key LIKE $1`, [`${prefix}%`]);

describe('@ExactlyOnce for messages from outside', () => {
  it('applies a webhook delivered twice once', async () => {
    for (let i = 0; i < 2; i += 1) {
      const response = await fetch(`${baseUrl}/webhooks/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-delivery-id': 'evt-1' },
        body: JSON.stringify({ amount: 42 }),
      });
      expect(response.status).toBe(200);
    }
    expect(await effects('http:')).toEqual([{ key: 'http:evt-1' }]);
  });

  it('applies a microservice event delivered twice once', async () => {
    const proxy = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    for (let i = 0; i < 2; i += 1) await lastValueFrom(proxy.emit('payment.settled', { id: 'tx-9', amount: 7 }));
    await until(() => settledEventsDone === 2); // both done with: the first applied, the second skipped
    expect(await effects('tcp:')).toEqual([{ key: 'tcp:tx-9' }]);
    proxy.close();
  });

  it('keeps nothing of a failed attempt, so the retry is applied', async () => {
    const post = (fail: boolean) =>
      fetch(`${baseUrl}/webhooks/failing`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'f-1', fail }),
      });
    expect((await post(true)).status).toBe(500);
    expect(await effects('fail:')).toEqual([]);
    expect((await post(false)).status).toBe(200);
    expect(await effects('fail:')).toEqual([{ key: 'fail:f-1' }]);
  });
});
