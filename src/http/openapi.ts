import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Swagger UI at /docs and the OpenAPI document at /docs-json, generated from the controllers' decorators. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Mailroom broker')
    .setDescription(
      'Durable queues on PostgreSQL over HTTP. Errors are always { error: { code, message, field? } }. ' +
        'Receive leases messages; ack, nack or extend them with their receipts before the lease expires.',
    )
    .setVersion('1')
    .build();
  // Built on first request: the document is then the running app's routes, not a stale copy.
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config));
}
