import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, getSchemaPath, SwaggerModule } from '@nestjs/swagger';

/** Swagger UI at /docs and the OpenAPI document at /docs-json, generated from the controllers' decorators. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Mailroom broker')
    .setDescription(
      'Durable queues on PostgreSQL over HTTP. Errors are always { error: { code, message, field? } }. ' +
        'Receive leases messages; ack, nack or extend them with their receipts before the lease expires. ' +
        'Topics fan a published message out to their subscriptions, each feeding a queue. ' +
        'Every request but /health needs an API key (Authorization: Bearer <key>): 401 without a valid one, 403 ' +
        "when its scopes do not cover the action, 429 with Retry-After over the key's rate limit, 415 for a body " +
        'that is not application/json.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (mailroom keys create)' }, 'apiKey')
    .addSecurityRequirements('apiKey')
    .build();
  // Built on first request: the document is then the running app's routes, not a stale copy.
  SwaggerModule.setup('docs', app, () => {
    const document = SwaggerModule.createDocument(app, config);
    // The one open route: probes call it without a key.
    const health = document.paths['/health']?.get;
    if (health) health.security = [];
    return document;
  });
}

/** A schema that is one of several models (each listed in the controller's @ApiExtraModels). */
export const oneOf = (...models: Function[]) => ({ oneOf: models.map((model) => ({ $ref: getSchemaPath(model) })) });
