import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { pathOf } from '../http/path';
import type { AuthOptions } from './auth.options';
import { RateLimitedError, UnauthorizedError } from './auth.errors';
import type { KeysService, Principal } from './keys.service';
import { RateLimiter } from './rate-limiter';
import { ALL_SCOPES } from './scopes';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request: set by authenticate() before any route runs. */
    principal: Principal | null;
  }
}

/** The dashboard's cookie: set by /dashboard/login, sent back only on /dashboard paths. */
export const DASHBOARD_COOKIE = 'mailroom_key';

/** Paths anyone may reach: liveness probes, and the form that takes a key. */
const OPEN_PATHS = new Set(['/health', '/dashboard/login']);

/** Under MAILROOM_AUTH=none every request is this principal. */
const OPEN: Principal = { id: 'open', name: 'open (MAILROOM_AUTH=none)', scopes: ALL_SCOPES };

/**
 * The first of the broker's request hooks (before any body is read, before Swagger and the
 * routes): every path but OPEN_PATHS needs a key, so nothing (docs, metrics, dashboard, an
 * unknown route) can be reached unguarded. What the key may do is decided per route by ScopeGuard.
 */
export function authenticate(keys: KeysService, options: AuthOptions) {
  const limiter = new RateLimiter(options.rateLimit);
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const path = pathOf(request);
    if (OPEN_PATHS.has(path)) return done();
    const admitted = (principal: Principal) => {
      const wait = limiter.take(principal.id);
      if (wait > 0) {
        reply.header('Retry-After', String(wait));
        return done(new RateLimitedError(wait));
      }
      request.principal = principal;
      done();
    };
    if (options.mode === 'none') return admitted(OPEN);
    const key = presentedKey(request, path);
    if (key === undefined) return done(new UnauthorizedError());
    keys.authenticate(key).then(admitted, done);
  };
}

function presentedKey(request: FastifyRequest, path: string): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return /^Bearer (\S+)$/i.exec(header)?.[1];
  // The cookie only counts on the dashboard: elsewhere a browser would attach it to a
  // cross-site request, and the API must take only keys the caller sent deliberately.
  if (path === '/dashboard' || path.startsWith('/dashboard/')) return cookie(request, DASHBOARD_COOKIE);
  return undefined;
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}
