import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthOptions } from './auth.options';
import { RateLimitedError, UnauthorizedError } from './auth.errors';
import type { KeysService, Principal } from './keys.service';
import { RateLimiter } from './rate-limiter';
import { ALL_SCOPES } from './scopes';

/** The dashboard's cookie: set by /dashboard/login, sent back only on /dashboard paths. */
export const DASHBOARD_COOKIE = 'mailroom_key';

/** Paths anyone may reach: liveness probes, and the form that takes a key. */
const OPEN_PATHS = new Set(['/health', '/dashboard/login']);

/** Under MAILROOM_AUTH=none every request is this principal. */
const OPEN: Principal = { id: 'open', name: 'open (MAILROOM_AUTH=none)', scopes: ALL_SCOPES };

/** Express's request, as far as this file reads it (Express ships no types here). */
export type AuthenticatedRequest = IncomingMessage & { path: string; principal?: Principal };
type Next = (error?: unknown) => void;

/**
 * Express middleware ahead of everything else (body parsing, Swagger, routes): every path
 * but OPEN_PATHS needs a key, so nothing (docs, metrics, dashboard) can be mounted unguarded.
 * What the key may do is decided per route by ScopeGuard.
 */
export function authenticate(keys: KeysService, options: AuthOptions) {
  const limiter = new RateLimiter(options.rateLimit);
  return (request: AuthenticatedRequest, response: ServerResponse, next: Next): void => {
    if (OPEN_PATHS.has(request.path)) return next();
    const admitted = (principal: Principal) => {
      const wait = limiter.take(principal.id);
      if (wait > 0) {
        response.setHeader('Retry-After', String(wait));
        return next(new RateLimitedError(wait));
      }
      request.principal = principal;
      next();
    };
    if (options.mode === 'none') return admitted(OPEN);
    const key = presentedKey(request);
    if (key === undefined) return next(new UnauthorizedError());
    keys.authenticate(key).then(admitted, next);
  };
}

function presentedKey(request: AuthenticatedRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return /^Bearer (\S+)$/i.exec(header)?.[1];
  // The cookie only counts on the dashboard: elsewhere a browser would attach it to a
  // cross-site request, and the API must take only keys the caller sent deliberately.
  if (request.path === '/dashboard' || request.path.startsWith('/dashboard/')) return cookie(request, DASHBOARD_COOKIE);
  return undefined;
}

function cookie(request: AuthenticatedRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}
