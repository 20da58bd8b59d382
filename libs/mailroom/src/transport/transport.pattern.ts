import { createHash } from 'node:crypto';

const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * The queue (requests) or topic (events) of a Nest pattern, given as Nest normalises it
 * (`transformPatternToRoute`: `{ cmd: 'sum' }` → `{"cmd":"sum"}`). A route that is already
 * a short valid name is used as it is, so string patterns keep the queue they always had;
 * any other becomes `nest.<its words>.<hash>`, e.g. `nest.cmd-sum.2f1c3e0a9b7d`: the
 * same on every node and process (client and server compute it apart), readable in
 * listings, and distinct for distinct routes (12 hex digits of SHA-256). Names stay at
 * most 100 characters, leaving room for `.dlq` and a subscription's `.<group>`.
 */
export function destinationOf(route: string): string {
  if (PLAIN_NAME.test(route)) return route;
  const digest = createHash('sha256').update(route).digest('hex').slice(0, 12);
  const words = (route.match(/[A-Za-z0-9_-]+/g) ?? []).join('-').slice(0, 80);
  return words ? `nest.${words}.${digest}` : `nest.${digest}`;
}
