import type { FastifyRequest } from 'fastify';

/** The request's path without its query string, as written (not decoded). */
export function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
