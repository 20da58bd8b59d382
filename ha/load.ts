/**
 * The traffic of the failover run, all through HAProxy in this one process: producers that
 * send with ids and retry until acknowledged, an @OnMessage consumer and a receive loop
 * (at-least-once), an exactly-once consumer writing an effect row per message, and a
 * workflow whose final transition emits one message. Nothing here knows about the failover.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Injectable, Module, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { fromPromise, setup } from 'xstate';
import {
  MailroomClient,
  mailroomEntities,
  mailroomMigrations,
  MailroomModule,
  OnMessage,
  Workflow,
  WorkflowAction,
  WorkflowActivity,
  Workflows,
  type MessageContext,
  type WorkflowActionArgs,
  type WorkflowEffects,
} from '@mailroom/core';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const QUEUES = ['ha-orders', 'ha-pull', 'ha-ledger', 'ha-flow-done'] as const;
/** What the producers send to, in turn: a workflow start every fourth time. */
const TARGETS = ['ha-orders', 'ha-pull', 'ha-ledger', 'ha-flow'] as const;

/** Every acknowledged send and every handling, in memory; exactly-once effects are rows in `ha_effect`. */
export class Tally {
  readonly acked = new Map<string, Set<string>>(TARGETS.map((t) => [t, new Set()]));
  readonly handled = new Map<string, Set<string>>(TARGETS.map((t) => [t, new Set()]));
  redeliveries = 0;
  sendFailures = 0;
  /** When each acknowledged send's successful attempt started and ended. */
  readonly acks: { started: number; done: number }[] = [];
  readonly errors = new Map<string, number>();
  /** When each failed send attempt failed. */
  readonly failures: number[] = [];

  error(message: string): void {
    const line = message
      .split('\n')[0]
      .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>')
      .slice(0, 160);
    this.errors.set(line, (this.errors.get(line) ?? 0) + 1);
  }

  ackedCount(): number {
    return [...this.acked.values()].reduce((n, s) => n + s.size, 0);
  }

  /** The first acknowledgement of an attempt begun after `t`. */
  firstAckAfter(t: number): number | null {
    const ack = this.acks.find((a) => a.started > t);
    return ack ? ack.done : null;
  }

  /**
   * When sending works again after a fault at `t`: the first acknowledgement of an attempt begun
   * after the first failure since `t` (sends may go on a moment after the fault, until the
   * proxy notices). Null while the outage lasts.
   */
  recoveredAt(t: number): number | null {
    const failed = this.failures.find((f) => f > t);
    return failed === undefined ? null : this.firstAckAfter(failed);
  }
}

const tally = new Tally();

/** Nest's log lines, counted rather than printed: a failover makes many, the summary shows them. */
const countingLogger: LoggerService = {
  log: () => undefined,
  warn: () => undefined,
  error: (message: unknown) => tally.error(`log: ${String(message)}`),
};

const flow = setup({
  types: { context: {} as { key: string }, input: {} as { key: string } },
  actors: { work: fromPromise(async () => ({ ok: true })) },
  actions: { finish: () => undefined },
}).createMachine({
  id: 'ha-flow',
  initial: 'working',
  context: ({ input }) => ({ key: input.key }),
  states: {
    working: { invoke: { id: 'work', src: 'work', onDone: 'done' } },
    done: { type: 'final', entry: 'finish' },
  },
});

@Workflow(flow)
@Injectable()
class HaFlow {
  /** Runs in the transition's transaction: a transition applied twice would send twice. */
  @WorkflowAction('finish')
  finish({ context }: WorkflowActionArgs<{ key: string }>, out: WorkflowEffects): void {
    out.send('ha-flow-done', { key: context.key });
  }

  @WorkflowActivity('work')
  work(): { ok: boolean } {
    return { ok: true };
  }
}

@Injectable()
class Consumers {
  @OnMessage('ha-orders', { concurrency: 4 })
  order(_body: unknown, ctx: MessageContext): void {
    if (tally.handled.get('ha-orders')!.has(ctx.id)) tally.redeliveries += 1;
    tally.handled.get('ha-orders')!.add(ctx.id);
  }

  @OnMessage('ha-ledger', { mode: 'exactly-once', consumer: 'ha-ledger-writer', concurrency: 4 })
  async ledger(_body: unknown, ctx: MessageContext): Promise<void> {
    await ctx.manager!.query(`INSERT INTO ha_effect (kind, ref) VALUES ('ledger', $1)`, [ctx.id]);
  }

  @OnMessage('ha-flow-done', { mode: 'exactly-once', consumer: 'ha-flow-writer', concurrency: 2 })
  async flowDone(body: { key: string }, ctx: MessageContext): Promise<void> {
    await ctx.manager!.query(`INSERT INTO ha_effect (kind, ref) VALUES ('flow', $1)`, [body.key]);
  }
}

/** The schema, the effect table (no unique constraint: a duplicate effect must be countable) and the queues. */
export async function prepare(url: string): Promise<void> {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    entities: mailroomEntities,
    migrations: mailroomMigrations,
    migrationsRun: true,
  });
  await dataSource.initialize();
  await dataSource.query(`CREATE TABLE ha_effect (kind text NOT NULL, ref text NOT NULL)`);
  const client = new MailroomClient(dataSource);
  for (const queue of QUEUES)
    await client.createQueue(queue, { leaseMs: 5_000, retry: { delayMs: 50, maxDelayMs: 500 } });
  await dataSource.destroy();
}

export class Load {
  readonly tally = tally;
  private sending = true;
  private closing = false;
  private sent = 0;
  private producers: Promise<void>[] = [];
  private puller: Promise<void> = Promise.resolve();

  private constructor(
    private readonly app: INestApplicationContext,
    private readonly client: MailroomClient,
    private readonly workflows: Workflows,
    private readonly limit: number,
  ) {}

  static async start(url: string, limit: number): Promise<Load> {
    @Module({
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url,
          entities: mailroomEntities,
          // A connection attempt during the failover fails fast and is retried, not left hanging.
          extra: { max: 20, connectionTimeoutMillis: 3_000 },
        }),
        MailroomModule.forRoot({ reaperIntervalMs: 500, pollIntervalMs: 500 }),
      ],
      providers: [Consumers, HaFlow],
    })
    class LoadModule {}
    const app = await NestFactory.createApplicationContext(LoadModule, { logger: countingLogger });
    const load = new Load(app, app.get(MailroomClient), app.get(Workflows), limit);
    load.producers = [load.produce(), load.produce(), load.produce()];
    load.puller = load.pull();
    return load;
  }

  /** Stops the producers (a send being retried is abandoned unacknowledged); the consumers go on. */
  async stopSending(): Promise<void> {
    this.sending = false;
    await Promise.all(this.producers);
  }

  async close(): Promise<void> {
    this.sending = false;
    this.closing = true;
    await Promise.all([...this.producers, this.puller]);
    await this.app.close();
  }

  private async produce(): Promise<void> {
    while (this.sending && this.sent < this.limit) {
      const target = TARGETS[this.sent++ % TARGETS.length];
      const id = randomUUID();
      // The same id until acknowledged: dedup (or the workflow key) makes a retry safe.
      while (this.sending) {
        const started = Date.now();
        try {
          if (target === 'ha-flow') await this.workflows.start(HaFlow, id, { key: id });
          else await this.client.send(target, { id }, { id });
          tally.acked.get(target)!.add(id);
          tally.acks.push({ started, done: Date.now() });
          break;
        } catch (error) {
          tally.sendFailures += 1;
          tally.failures.push(Date.now());
          tally.error(`send: ${(error as Error).message}`);
          await sleep(50); // a client's back-off before it retries, not synchronisation
        }
      }
      await sleep(5); // pace: a steady load, not a benchmark
    }
  }

  private async pull(): Promise<void> {
    while (!this.closing) {
      try {
        const messages = await this.client.receive('ha-pull', { max: 10, waitMs: 1_000 });
        for (const m of messages) {
          if (tally.handled.get('ha-pull')!.has(m.id)) tally.redeliveries += 1;
          tally.handled.get('ha-pull')!.add(m.id);
        }
        if (messages.length)
          await this.client.ack(
            'ha-pull',
            messages.map((m) => m.receipt),
          );
      } catch (error) {
        tally.error(`receive: ${(error as Error).message}`);
        await sleep(100); // back-off before receiving again
      }
    }
  }
}
