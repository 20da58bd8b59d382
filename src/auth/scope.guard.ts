import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from './auth.errors';
import { POLICY, type Rule } from './policy';
import { allows, RESOURCE_ACTIONS } from './scopes';

/** Reaching a /v1 route the policy does not list takes admin: a new route is closed until listed. */
const UNLISTED: Rule = { action: 'admin' };

/**
 * Authorisation for every route (a global guard): the key authenticate() admitted must hold
 * the scope POLICY names for this route and its resource. Controllers outside /v1 (health,
 * metrics, dashboard) need only a key. Which routes are /v1 is read from the controller, not
 * the request path: routes match case-insensitively (as they did on Express), so /V1/... reaches them too. Management and admin requests that succeed go to the
 * audit trail.
 */
@Injectable()
export class ScopeGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest<{ Params: Record<string, string> }>>();
    const controllerPath = String(Reflect.getMetadata(PATH_METADATA, context.getClass()) ?? '');
    if (!/^\/?v1(\/|$)/.test(controllerPath)) return true;
    const operation = `${context.getClass().name}_${context.getHandler().name}`;
    const rule = POLICY[operation] ?? UNLISTED;
    const resource = rule.param === undefined ? '*' : request.params[rule.param];
    const scopes = request.principal?.scopes ?? [];
    const permitted =
      rule.action === 'read'
        ? RESOURCE_ACTIONS.some((action) => allows(scopes, action, resource))
        : allows(scopes, rule.action, resource);
    if (!permitted) throw new ForbiddenError(rule.action, resource);
    // Recorded before the answer is sent (auditBeforeAnswer), if it succeeded.
    if ((rule.action === 'manage' || rule.action === 'admin') && request.method !== 'GET') request.audited = operation;
    return true;
  }
}
