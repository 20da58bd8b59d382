import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { UnsupportedMediaTypeError } from '../auth/auth.errors';
import { isDashboardForm } from './forms';

/**
 * Room around the messages themselves in a request: a batch's JSON envelope, field
 * names and headers, and many small messages together. 1 MiB holds a 1,000-message
 * batch of ~1 KB messages.
 */
export const BATCH_FRAMING_BYTES = 1024 * 1024;

/** The dashboard's forms carry a confirm flag; nothing near this. */
const FORM_LIMIT_BYTES = 16 * 1024;

type Limit = () => Promise<number>;
type ParserDone = (error: Error | null, body?: unknown) => void;

/**
 * Runs before any body is read (an onRequest hook, after the key check): only
 * application/json is accepted (415 otherwise), even with no body: a browser sends
 * text/plain, form and multipart requests cross-site without asking (CORS "simple
 * requests"), so refusing those types is what keeps another site's page from sending,
 * purging or deleting through a visitor's browser. A body announced (Content-Length)
 * over `limit()` answers 413 at once, before a byte of it is read.
 */
export function refuseUnreadableBodies(limit: Limit) {
  return (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const headers = request.headers;
    // The dashboard's own forms: read by readBody below, only on /dashboard, where sameOriginForms refuses other sites.
    if (isDashboardForm(request)) return done();
    const type = headers['content-type'];
    const hasBody = headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
    // A declared length of 0 with no type is what fetch and curl send for an empty POST.
    const empty = headers['content-length'] === '0';
    if (type !== undefined ? !isJson(type) : hasBody && !empty) return done(new UnsupportedMediaTypeError(type));
    // Without a body there is nothing to limit (and no need to ask the database).
    const declared = Number(headers['content-length']);
    if (!hasBody || !(declared > 0)) return done();
    limit().then((bytes) => done(declared > bytes ? tooLarge(bytes) : undefined), done);
  };
}

/**
 * The one body parser (Fastify's content-type parser for every type; refuseUnreadableBodies
 * already let only JSON and the dashboard's forms through). Reads the body up to the limit
 * of the moment and no further, so no request holds more than that in memory; JSON must be
 * an object or an array (as body-parser's strict mode); gzip, deflate and br bodies are inflated.
 */
export function readBody(limit: Limit) {
  return (request: FastifyRequest, payload: IncomingMessage, done: ParserDone): void => {
    const form = isDashboardForm(request);
    const headers = request.headers;
    // No length and no chunked body: a POST with a type but nothing after it.
    if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return done(null);
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && charset.toLowerCase() !== 'utf-8')
      return done(
        new UnsupportedMediaTypeError(headers['content-type'], `Request bodies must be UTF-8, not ${charset}.`),
      );
    const encoding = headers['content-encoding'];
    const inflate = inflater(encoding);
    if (inflate === null)
      return done(
        new UnsupportedMediaTypeError(
          headers['content-type'],
          `Content-Encoding ${encoding} is not supported (gzip, deflate, br).`,
        ),
      );
    const bytes = form ? Promise.resolve(FORM_LIMIT_BYTES) : limit();
    bytes
      .then((max) =>
        collect(inflate ? payload.pipe(inflate) : payload, max).catch((error: unknown) => {
          // An inflating stream would go on inflating what is still coming: stop it.
          if (inflate) {
            payload.unpipe(inflate);
            inflate.destroy();
          }
          throw error;
        }),
      )
      .then((text) => (form ? Object.fromEntries(new URLSearchParams(text)) : parseJson(text)))
      .then((body) => done(null, body), done);
  };
}

/** The stream that inflates `encoding`: undefined for none (identity), null for one not supported. */
function inflater(encoding: string | undefined): Transform | null | undefined {
  switch ((encoding ?? 'identity').toLowerCase()) {
    case 'identity':
      return undefined;
    case 'gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return null;
  }
}

/** The stream's text, refused (413) as soon as it passes `max` bytes. */
function collect(stream: Readable, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > max) {
        stream.off('data', onData);
        // The rest is drained by Node once the 413 is sent; none of it is kept.
        reject(tooLarge(max));
      } else chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.once('end', () =>
      resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    stream.once('error', (error) =>
      reject(new BadRequestException(error.message, { cause: { type: 'request.aborted' } })),
    );
  });
}

function parseJson(text: string): unknown {
  // An empty body is an empty object, as body-parser has it.
  if (text.length === 0) return {};
  const first = /^[\x20\x09\x0a\x0d]*(.)/s.exec(text)?.[1];
  try {
    if (first !== '{' && first !== '[') throw new SyntaxError('the body must be a JSON object or array');
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestException((error as Error).message, { cause: { type: 'entity.parse.failed' } });
  }
}

function isJson(contentType: string): boolean {
  return /^application\/json\s*(;|$)/i.test(contentType);
}

/** The error filter reads the limit from the cause. */
function tooLarge(limit: number): PayloadTooLargeException {
  return new PayloadTooLargeException('request entity too large', { cause: { type: 'entity.too.large', limit } });
}
