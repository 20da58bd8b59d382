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
    // Parsed already: a dashboard form (urlencoded is mounted on /dashboard only, where the
    // SameSite=Strict cookie, not a header, authenticates, so other sites cannot post).
    if ((request as { _body?: boolean })._body) return next();
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

function isJson(contentType: string): boolean {
  return /^application\/json\s*(;|$)/i.test(contentType);
}

/** Shaped like body-parser's own error, which the error filter reads the limit from. */
function tooLarge(limit: number): PayloadTooLargeException {
  return new PayloadTooLargeException('request entity too large', { cause: { type: 'entity.too.large', limit } });
}
