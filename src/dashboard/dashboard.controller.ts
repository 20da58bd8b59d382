import { Body, Controller, Get, Header, Param, Post, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MailroomClient, Workflows } from '@mailroom/core';
import { DashboardHistory } from './dashboard.history';
import { LEASES_SQL, QUEUE_MESSAGES_SQL } from './dashboard.sql';
import { confirmView, consumersView, queuesView, queueView, topicsView, type Row } from './dashboard.views';
import { page, seg } from './html';
import { instanceView, workflowsView } from './workflow.views';

const HTML = 'text/html; charset=utf-8';
const LIST = 50;

/**
 * The operator's dashboard: server-rendered pages over the same client the API uses.
 * Destructive actions are POST forms answered first by a confirmation page; only a
 * second POST with confirm=yes acts. Authentication is the app's guard, not ours.
 */
@ApiExcludeController()
@Controller('dashboard')
export class DashboardController {
  constructor(
    private readonly client: MailroomClient,
    private readonly workflows: Workflows,
    private readonly history: DashboardHistory,
  ) {}

  @Get()
  @Header('Content-Type', HTML)
  async queues(@Query('notice') notice?: string): Promise<string> {
    const queues = await this.client.listQueues();
    for (const q of queues) this.history.recordDepth(q.name, q.stats.available + q.stats.inFlight + q.stats.delayed);
    return page(
      'Queues',
      queuesView(queues, (name) => this.history.series(name)),
      notice,
    );
  }

  @Get('queues/:name')
  @Header('Content-Type', HTML)
  async queue(@Param('name') name: string, @Query('notice') notice?: string): Promise<string> {
    const queue = await this.client.getQueue(name);
    const manager = this.client.dataSource.manager;
    const [messages, { deadLetters }] = await Promise.all([
      manager.query(QUEUE_MESSAGES_SQL, [name, LIST]) as Promise<Row[]>,
      this.client.listDeadLetters(name, { limit: LIST }),
    ]);
    return page(`Queue ${name}`, queueView(queue, messages, deadLetters), notice);
  }

  @Post('queues/:name/redrive')
  async redrive(@Param('name') name: string, @Body() form: Form, @Res() response: FastifyReply): Promise<void> {
    const back = `/dashboard/queues/${seg(name)}`;
    if (form?.confirm !== 'yes') {
      const count = await this.client.countDeadLetters(name);
      return confirm(response, `Redrive ${count} dead letter(s) of ${name} back to ${name}?`, `${back}/redrive`, back);
    }
    const { moved } = await this.client.redriveDeadLetters(name, { all: true });
    seeOther(response, `${back}?notice=${seg(`Redrove ${moved} dead letter(s) to ${name}.`)}`);
  }

  @Post('queues/:name/purge')
  async purge(@Param('name') name: string, @Body() form: Form, @Res() response: FastifyReply): Promise<void> {
    const back = `/dashboard/queues/${seg(name)}`;
    if (form?.confirm !== 'yes') {
      const { stats } = await this.client.getQueue(name);
      const waiting = stats.available + stats.delayed + stats.exhausted;
      return confirm(
        response,
        `Delete the ${waiting} message(s) of ${name} that are not in flight?`,
        `${back}/purge`,
        back,
      );
    }
    const { purged } = await this.client.purgeQueue(name);
    seeOther(response, `${back}?notice=${seg(`Purged ${purged} message(s) from ${name}.`)}`);
  }

  @Get('topics')
  @Header('Content-Type', HTML)
  async topics(): Promise<string> {
    return page('Topics', topicsView(await this.client.listTopics()));
  }

  @Get('consumers')
  @Header('Content-Type', HTML)
  async consumers(): Promise<string> {
    const leases = (await this.client.dataSource.manager.query(LEASES_SQL)) as Row[];
    return page('Consumers', consumersView(leases));
  }

  @Get('workflows')
  @Header('Content-Type', HTML)
  async workflowList(): Promise<string> {
    const admin = this.workflows.admin;
    const definitions = await admin.definitions();
    const workflows = await Promise.all(
      definitions.map(async (info) => ({ info, instances: (await admin.list(info.name, { limit: LIST })).instances })),
    );
    return page('Workflows', workflowsView(workflows));
  }

  @Get('workflows/:name/:key')
  @Header('Content-Type', HTML)
  async instance(@Param('name') name: string, @Param('key') key: string): Promise<string> {
    const admin = this.workflows.admin;
    const [definition, instance] = await Promise.all([admin.definition(name), admin.get(name, key)]);
    const machine = (definition.versions.find((v) => v.version === instance.version) ?? definition.versions.at(-1)!)
      .definition;
    return page(`Workflow ${name} · ${key}`, instanceView(instance, machine));
  }
}

type Form = { confirm?: string } | undefined;

/** The first POST of a destructive action only asks; the confirmation form posts again with confirm=yes. */
function confirm(response: FastifyReply, question: string, action: string, back: string): void {
  response.code(200).type(HTML).send(page('Please confirm', confirmView(question, action, back)));
}

/** After a POST that acted, the browser GETs the page (a reload does not repeat the action). */
function seeOther(response: FastifyReply, url: string): void {
  response.code(303).header('location', url).send();
}
