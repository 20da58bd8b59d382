import { PayloadTooLargeException } from '@nestjs/common';
import { UnsupportedMediaTypeError } from '../auth/auth.errors';
import type { IncomingMessage, ServerResponse } from 'node:http';

type Next = (error?: unknown) => void;
type Handler = (request: IncomingMessage, response: ServerResponse, next: Next) => void;

// body-parser (the parser Nest's Express adapter uses) has no bundled types.
const { json, urlencoded } = require('body-parser') as {
  json(options: { limit: number; type: () => boolean }): Handler;
  urlencoded(options: { extended: false; limit: string }): Handler;
};
export { urlencoded };

/**
 * Room around the messages themselves in a request: a batch's JSON envelope, field
 * names and headers, and many small messages together. 1 MiB holds a 1,000-message
 * batch of ~1 KB messages.
 */
export const BATCH_FRAMING_BYTES = 1024 * 1024;

/**
 * The JSON body parser, with a limit decided per request: `limit()` resolves the current
 * one. A body over it answers 413 before it is read (by its Content-Length) or as soon as
 * it streams past the limit, so no request holds more than that in memory. Only
 * application/json is accepted (415 otherwise), even with no body: a browser sends
 * text/plain, form and multipart requests cross-site without asking (CORS "simple
 * requests"), so refusing those types is what keeps another site's page from sending,
 * purging or deleting through a visitor's browser.
 */
export function jsonBody(limit: () => Promise<number>): Handler {
  const parsers = new Map<number, Handler>();
  return (request, response, next) => {
    // The dashboard's own forms: parsed by the urlencoded parser mounted on /dashboard only,
    // where sameOriginForms refuses a post from another site.
    if (isDashboardForm(request)) return next();
    const type = request.headers['content-type'];
    const hasBody =
      request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
    // A declared length of 0 with no type is what fetch and curl send for an empty POST.
    const empty = request.headers['content-length'] === '0';
    if (type !== undefined ? !isJson(type) : hasBody && !empty) return next(new UnsupportedMediaTypeError(type));
    // Without a body there is nothing to limit (and no need to ask the database).
    if (!hasBody) return next();
    limit().then((bytes) => {
      // body-parser refuses an announced length over the limit too, but only answers once
      // the client has sent it all (it drains the body first): answer at once instead.
      if (Number(request.headers['content-length']) > bytes) return next(tooLarge(bytes));
      let parser = parsers.get(bytes);
      if (!parser) {
        parser = json({ limit: bytes, type: () => true });
        parsers.set(bytes, parser);
      }
      parser(request, response, next);
    }, next);
  };
}

function isDashboardForm(request: IncomingMessage): boolean {
  const type = request.headers['content-type'] ?? '';
  return (request.url ?? '').startsWith('/dashboard/') && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type);
}

/**
 * The dashboard's forms (redrive, purge) are the one place a browser posts something other
 * than JSON: a post another site's page makes a browser send is refused (403) by the
 * browser's own Sec-Fetch-Site, or by an Origin that is not this broker, whether or not
 * a key is required (MAILROOM_AUTH=none has no cookie to withhold).
 */
export function sameOriginForms(request: IncomingMessage, response: ServerResponse, next: Next): void {
  if (request.method !== 'POST') return next();
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  const foreign =
    (site !== undefined && site !== 'same-origin' && site !== 'none') ||
    (origin !== undefined && hostOf(origin) !== request.headers.host);
  if (!foreign) return next();
  response.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('Cross-site form posts are refused.');
}

/** An Origin's host; null (never this broker) for `null` or anything unparsable. */
function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

function isJson(contentType: string): boolean {
  return /^application\/json\s*(;|$)/i.test(contentType);
}

/** Shaped like body-parser's own error, which the error filter reads the limit from. */
function tooLarge(limit: number): PayloadTooLargeException {
  return new PayloadTooLargeException('request entity too large', { cause: { type: 'entity.too.large', limit } });
}
