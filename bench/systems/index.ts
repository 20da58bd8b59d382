import { bullmqSystem } from './bullmq';
import { graphileWorkerSystem } from './graphile-worker';
import { mailroomSystem } from './mailroom';
import { mailroomPushSystem } from './mailroom-push';
import { mailroomRestSystem } from './mailroom-rest';
import { pgBossSystem } from './pg-boss';
import { rabbitmqSystem } from './rabbitmq';
import { rawSqlSystem } from './raw-sql';
import type { BenchSystem } from './system';

/** Every system the bench knows, in the order of the table's columns. */
export const SYSTEMS: BenchSystem[] = [
  mailroomSystem,
  mailroomPushSystem,
  mailroomRestSystem,
  pgBossSystem,
  graphileWorkerSystem,
  bullmqSystem,
  rabbitmqSystem,
  rawSqlSystem,
];
