import { Inject, Injectable } from '@nestjs/common';
import { MailroomClient } from '../client/mailroom.client';

/** The shape @nestjs/terminus expects from an indicator: `{ [key]: { status, ...details } }`. */
export type MailroomHealth = Record<string, { status: 'up' | 'down'; [detail: string]: unknown }>;

/**
 * A health indicator for @nestjs/terminus that needs no terminus import:
 * `health.check([() => mailroomHealth.isHealthy('mailroom')])`. Up when Mailroom's
 * tables answer on its DataSource (the database is reachable and migrated).
 */
@Injectable()
export class MailroomHealthIndicator {
  constructor(@Inject(MailroomClient) private readonly client: MailroomClient) {}

  async isHealthy(key = 'mailroom'): Promise<MailroomHealth> {
    try {
      const [{ queues }] = await this.client.dataSource.query(
        `SELECT count(*)::int AS queues FROM mailroom_queue WHERE state <> 'deleted'`,
      );
      return { [key]: { status: 'up', queues } };
    } catch (error) {
      return { [key]: { status: 'down', message: error instanceof Error ? error.message : String(error) } };
    }
  }
}
