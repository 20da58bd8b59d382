import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { pathOf } from './path';

/** A urlencoded post to a /dashboard/ path: the one body that is not JSON (see refuseUnreadableBodies). */
export function isDashboardForm(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  return request.url.startsWith('/dashboard/') && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type);
}

/**
 * The dashboard's forms (redrive, purge) are the one place a browser posts something other
 * than JSON: a post another site's page makes a browser send is refused (403) by the
 * browser's own Sec-Fetch-Site, or by an Origin that is not this broker, whether or not
 * a key is required (MAILROOM_AUTH=none has no cookie to withhold). Any POST under
 * /dashboard, however its path is spelt (routes match case-insensitively).
 */
export function sameOriginForms(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (request.method !== 'POST' || !/^\/dashboard(\/|$)/i.test(pathOf(request))) return done();
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  const foreign =
    (site !== undefined && site !== 'same-origin' && site !== 'none') ||
    (origin !== undefined && hostOf(origin) !== request.headers.host);
  if (!foreign) return done();
  reply.code(403).type('text/plain; charset=utf-8').send('Cross-site form posts are refused.');
}

/** An Origin's host; null (never this broker) for `null` or anything unparsable. */
function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}
