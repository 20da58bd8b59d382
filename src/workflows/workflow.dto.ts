import { HttpStatus } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ErrorMeaning } from '../http/api-error';

const STATE = {
  description: 'The state value: a name, or an object for nested and parallel states',
  oneOf: [{ type: 'string' }, { type: 'object' }],
  example: { shipping: 'waiting' },
};

export class WorkflowSummaryDto {
  @ApiProperty({ example: 'order' })
  name: string;

  @ApiProperty({ type: [String], description: 'Machine versions registered, newest last', example: ['1', '2'] })
  versions: string[];

  @ApiProperty()
  updatedAt: Date;
}

export class WorkflowListDto {
  @ApiProperty({ type: [WorkflowSummaryDto] })
  workflows: WorkflowSummaryDto[];
}

export class WorkflowInstanceDto {
  @ApiProperty({ example: 'order' })
  workflow: string;

  @ApiProperty({ description: 'The correlation key', example: 'o-42' })
  key: string;

  @ApiProperty({ description: 'The machine version the instance is pinned to', example: '1' })
  version: string;

  @ApiProperty({ enum: ['running', 'done', 'failed', 'cancelled'] })
  status: string;

  @ApiProperty(STATE)
  state: unknown;

  @ApiProperty({ type: [String] })
  tags: string[];

  @ApiProperty({ type: String, nullable: true, description: 'Why a failed instance failed' })
  failure: string | null;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}

export class WorkflowInstancePageDto {
  @ApiProperty({ type: [WorkflowInstanceDto] })
  instances: WorkflowInstanceDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page' })
  nextCursor: string | null;
}

export class WorkflowWaitDto {
  @ApiProperty({ description: 'The timer or invoke id', example: 'xstate.after.PAYMENT_TIMEOUT.order.awaitingPayment' })
  id: string;

  @ApiProperty({ enum: ['timer', 'activity', 'child'] })
  kind: string;

  @ApiProperty({ type: Date, nullable: true, description: 'A timer’s deadline (database clock)' })
  dueAt: Date | null;
}

export class WorkflowTransitionDto {
  @ApiProperty({ enum: ['started', 'applied', 'ignored', 'stale', 'failed', 'retried', 'cancelled'] })
  outcome: string;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { type: 'PaymentCaptured' } })
  event: object;

  @ApiProperty(STATE)
  state: unknown;

  @ApiProperty({ type: String, nullable: true })
  messageId: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'not accepted in shipping' })
  detail: string | null;

  @ApiProperty()
  at: Date;
}

export class WorkflowInstanceDetailDto extends WorkflowInstanceDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: "XState's persisted snapshot" })
  snapshot: object;

  @ApiProperty({ type: [WorkflowWaitDto] })
  waits: WorkflowWaitDto[];

  @ApiProperty({ type: [WorkflowTransitionDto], description: 'Newest first' })
  history: WorkflowTransitionDto[];
}

export class WorkflowDiagramDto {
  @ApiProperty({ enum: ['mermaid'] })
  format: 'mermaid';

  @ApiProperty({
    description: 'Mermaid stateDiagram-v2 text; the active states are in class `active`',
    example: 'stateDiagram-v2\n  [*] --> order_awaitingPayment\n  ...',
  })
  diagram: string;
}

export class UnmappableInstanceDto {
  @ApiProperty({ example: 'order-42' })
  key: string;

  @ApiProperty({ description: 'The machine version the instance is pinned to', example: '1' })
  version: string;

  @ApiProperty({ example: 'stored state legacyReview is unknown to version 2' })
  reason: string;
}

export class UnmappableListDto {
  @ApiProperty({
    type: [UnmappableInstanceDto],
    description:
      "Running instances the registered machine versions cannot run as stored. One of a version no app registered may still be mapped by the app's migrate(), which only the app can run (Workflows.unmappable() there).",
  })
  instances: UnmappableInstanceDto[];
}

export class WorkflowEventDto {
  @ApiProperty({ description: 'The event type the machine handles (not xstate.*)', example: 'CancelRequested' })
  type: string;

  @ApiPropertyOptional({ description: 'Any further fields are part of the event', example: 'customer asked' })
  reason?: string;
}

export class AcceptedDto {
  @ApiProperty({ description: 'The id of the message that carries it to the app’s workers' })
  id: string;
}

export const WORKFLOW_NOT_FOUND: ErrorMeaning = [
  HttpStatus.NOT_FOUND,
  'workflow_not_found (no app registered it) or workflow_instance_not_found',
];
