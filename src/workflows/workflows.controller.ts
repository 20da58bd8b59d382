import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Workflows, type Unmappable, type WorkflowInstanceDetail, type WorkflowInstanceInfo } from '@mailroom/core';
import { ApiErrors } from '../http/api-error';
import { integerParam, paramsOf } from '../http/query-params';
import {
  AcceptedDto,
  UnmappableListDto,
  WORKFLOW_NOT_FOUND,
  WorkflowDiagramDto,
  WorkflowEventDto,
  WorkflowInstanceDetailDto,
  WorkflowInstanceDto,
  WorkflowInstancePageDto,
  WorkflowListDto,
} from './workflow.dto';

/**
 * Workflows that apps on this database registered, served from their rows: the broker has
 * none of their code. Events and retries are handed to the app's workers through the
 * workflow's queue (`workflow.<name>`, in order per key), since the effects are theirs;
 * cancel needs no code and happens here. Unknown workflow or key: 404; a malformed event:
 * 400; nothing changes on any error.
 */
@ApiTags('workflows')
@ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1/workflows')
export class WorkflowsController {
  constructor(private readonly workflows: Workflows) {}

  @Get()
  @ApiOkResponse({ type: WorkflowListDto })
  @ApiOperation({ summary: 'The workflows registered in the database, with their machine versions (newest last)' })
  async definitions() {
    const definitions = await this.workflows.admin.definitions();
    return {
      workflows: definitions.map((d) => ({
        name: d.name,
        versions: d.versions.map((v) => v.version),
        updatedAt: d.updatedAt,
      })),
    };
  }

  @Get(':name/unmappable')
  @ApiOkResponse({ type: UnmappableListDto })
  @ApiOperation({ summary: 'Migration dry run: running instances the registered versions cannot run as stored' })
  @ApiErrors(HttpStatus.BAD_REQUEST, WORKFLOW_NOT_FOUND)
  async unmappable(@Param('name') name: string): Promise<{ instances: Unmappable[] }> {
    return { instances: await this.workflows.admin.unmappable(name) };
  }

  @Get(':name/instances')
  @ApiOkResponse({ type: WorkflowInstancePageDto })
  @ApiOperation({ summary: 'A page of instances, filtered by status, state (dotted path) and tag, in id order' })
  @ApiErrors(HttpStatus.BAD_REQUEST, WORKFLOW_NOT_FOUND)
  async list(
    @Param('name') name: string,
    @Query() query: Record<string, unknown>,
  ): Promise<{ instances: WorkflowInstanceInfo[]; nextCursor: string | null }> {
    const params = paramsOf(query, ['status', 'state', 'tag', 'limit', 'cursor']);
    const page = await this.workflows.admin.list(name, { ...params, limit: integerParam(params, 'limit') });
    return { instances: page.instances, nextCursor: page.cursor };
  }

  @Get(':name/instances/:key')
  @ApiOkResponse({ type: WorkflowInstanceDetailDto })
  @ApiOperation({ summary: 'One instance: snapshot, pending timers and activities, the last transitions' })
  @ApiErrors(HttpStatus.BAD_REQUEST, WORKFLOW_NOT_FOUND)
  get(
    @Param('name') name: string,
    @Param('key') key: string,
    @Query() query: Record<string, unknown>,
  ): Promise<WorkflowInstanceDetail> {
    const params = paramsOf(query, ['history']);
    return this.workflows.admin.get(name, key, integerParam(params, 'history'));
  }

  @Get(':name/instances/:key/diagram')
  @ApiOkResponse({ type: WorkflowDiagramDto })
  @ApiOperation({ summary: "Mermaid stateDiagram text of the instance's machine, its active states in class `active`" })
  @ApiErrors(HttpStatus.BAD_REQUEST, WORKFLOW_NOT_FOUND)
  async diagram(@Param('name') name: string, @Param('key') key: string): Promise<WorkflowDiagramDto> {
    return { format: 'mermaid', diagram: await this.workflows.admin.diagram(name, key) };
  }

  @Post(':name/instances/:key/events')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiBody({ type: WorkflowEventDto })
  @ApiAcceptedResponse({ type: AcceptedDto })
  @ApiOperation({
    summary: 'Sends an event (`{ "type": "...", ... }`) to the instance; the app applies it from the workflow queue',
  })
  @ApiErrors(HttpStatus.BAD_REQUEST, WORKFLOW_NOT_FOUND)
  sendEvent(@Param('name') name: string, @Param('key') key: string, @Body() event: unknown): Promise<{ id: string }> {
    return this.workflows.admin.sendEvent(name, key, event);
  }

  @Post(':name/instances/:key/cancel')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: WorkflowInstanceDto })
  @ApiOperation({ summary: 'Cancels the instance: its timers and activities are forgotten, later events ignored' })
  @ApiErrors(HttpStatus.BAD_REQUEST, WORKFLOW_NOT_FOUND, HttpStatus.CONFLICT)
  cancel(@Param('name') name: string, @Param('key') key: string): Promise<WorkflowInstanceInfo> {
    return this.workflows.admin.cancel(name, key);
  }

  @Post(':name/instances/:key/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiAcceptedResponse({ type: AcceptedDto })
  @ApiOperation({
    summary: 'Asks the app to run a failed instance again (it stays failed if its state still does not resolve)',
  })
  @ApiErrors(HttpStatus.BAD_REQUEST, WORKFLOW_NOT_FOUND, HttpStatus.CONFLICT)
  retry(@Param('name') name: string, @Param('key') key: string): Promise<{ id: string }> {
    return this.workflows.admin.retry(name, key);
  }
}
