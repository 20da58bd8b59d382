import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, getSchemaPath, SwaggerModule } from '@nestjs/swagger';

/** Swagger UI at /docs and the OpenAPI document at /docs-json, generated from the controllers' decorators. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Mailroom broker')
    .setDescription(
      'Durable queues on PostgreSQL over HTTP. Errors are always { error: { code, message, field? } }. ' +
        'Receive leases messages; ack, nack or extend them with their receipts before the lease expires. ' +
        'Topics fan a published message out to their subscriptions, each feeding a queue.',
    )
    .setVersion('1')
    .build();
  // Built on first request: the document is then the running app's routes, not a stale copy.
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config));
}

/** A schema that is one of several models (each listed in the controller's @ApiExtraModels). */
export const oneOf = (...models: Function[]) => ({ oneOf: models.map((model) => ({ $ref: getSchemaPath(model) })) });
