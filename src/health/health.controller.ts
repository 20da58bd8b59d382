import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { ErrorDto } from '../http/api-error';

class HealthDto {
  @ApiProperty({ enum: ['ok'] })
  status: string;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { database: { status: 'up' } } })
  details: Record<string, unknown>;
}

/** Up means the database answers: a broker that cannot reach Postgres can do nothing. */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
  ) {}

  @Get()
  // Terminus documents its own 503 body; the error filter answers in the API's error shape instead.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ summary: 'Up when the database answers' })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'unavailable: the database does not answer' })
  check() {
    return this.health.check([() => this.database.pingCheck('database')]);
  }
}
