import { Injectable, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DataSource } from 'typeorm';
import { pathOf } from '../http/path';
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
   * Written before the answer is sent, once its status is known (auditBeforeAnswer): a
   * client that has its answer finds the entry. A failed write is logged, not raised: the
   * action itself has already happened.
   */
  async record(principal: Principal | undefined, action: string, target: string, status: number): Promise<void> {
    await this.dataSource
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

declare module 'fastify' {
  interface FastifyRequest {
    /** The operation to record in the audit trail if the request succeeds (set by ScopeGuard). */
    audited: string | null;
  }
}

/**
 * The hook that records an audited request that succeeded, before its answer leaves: only
 * what took effect (a refused request, 4xx, changes nothing, not even the trail). Every
 * other answer (sends, receives) passes straight through: no promise on that path.
 */
export function auditBeforeAnswer(audit: AuditService) {
  return (
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: null, payload: unknown) => void,
  ) => {
    if (!request.audited || reply.statusCode >= 300) return done(null, payload);
    void audit
      .record(request.principal ?? undefined, request.audited, pathOf(request), reply.statusCode)
      .then(() => done(null, payload));
  };
}
