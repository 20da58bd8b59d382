import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { pathOf } from '../http/path';
import { DASHBOARD_COOKIE } from './authenticate';
import type { KeysService } from './keys.service';

/** A key and its field name are far below this; anything longer is not a login. */
const MAX_FORM_BYTES = 4096;

/**
 * /dashboard/login (a request hook, answered before any route): a browser cannot send an
 * Authorization header from a link, so the dashboard takes the key once through this form
 * and keeps it in a cookie that is HttpOnly (no script reads it), SameSite=Strict (no other
 * site's request carries it) and limited to /dashboard paths (the API never accepts it).
 * The key is checked before it is set.
 */
export function dashboardLogin(keys: KeysService) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    if (pathOf(request) !== '/dashboard/login') return done();
    if (request.method === 'GET') return page(reply, 200);
    if (request.method !== 'POST') return done();
    readForm(request.raw).then(
      async (form) => {
        const key = form.get('key') ?? '';
        const valid =
          key !== '' &&
          (await keys.authenticate(key).then(
            () => true,
            () => false,
          ));
        if (!valid) return page(reply, 401, 'Unknown or revoked key.');
        reply
          .header(
            'Set-Cookie',
            `${DASHBOARD_COOKIE}=${encodeURIComponent(key)}; Path=/dashboard; HttpOnly; SameSite=Strict`,
          )
          .code(303)
          .header('location', '/dashboard')
          .send();
      },
      () => page(reply, 400, 'The form could not be read.'),
    );
  };
}

function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_FORM_BYTES) request.destroy(new Error('form too large'));
    });
    request.on('end', () => resolve(new URLSearchParams(text)));
    request.on('error', reject);
  });
}

function page(reply: FastifyReply, status: number, problem = ''): void {
  const notice = problem && `<p role="alert">${problem}</p>`;
  reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(`<!doctype html>
<html><head><meta charset="utf-8"><title>Mailroom dashboard: sign in</title></head>
<body><h1>Mailroom dashboard</h1>${notice}
<form method="post" action="/dashboard/login">
<label>API key <input name="key" type="password" autocomplete="off" required></label>
<button type="submit">Sign in</button>
</form></body></html>`);
}
