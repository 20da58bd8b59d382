import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal } from './keys.service';

export interface AuditEntry {
  id: string;
  at: Date;
  keyId: string | null;
  keyName: string | null;
  action: string;
  target: string;
  status: number;
}

/** The audit trail: management and admin requests, who made them and how they ended. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Written once the response is sent (its status is then known). A failed write is logged,
   * not raised: the action itself has already happened.
   */
  record(principal: Principal | undefined, action: string, target: string, status: number): void {
    this.dataSource
      .query(`INSERT INTO mailroom_audit (key_id, key_name, action, target, status) VALUES ($1, $2, $3, $4, $5)`, [
        principal?.id ?? null,
        principal?.name ?? null,
        action,
        target,
        status,
      ])
      .catch((error: Error) => this.logger.warn(`Could not record ${action} ${target}: ${error.message}`));
  }

  /** Newest first. */
  list(limit: number): Promise<AuditEntry[]> {
    return this.dataSource.query(
      `SELECT id, at, key_id AS "keyId", key_name AS "keyName", action, target, status
       FROM mailroom_audit ORDER BY id DESC LIMIT $1`,
      [limit],
    );
  }
}
