import { InvalidRequestError } from '../errors/mailroom.errors';

const WORD = /^[A-Za-z0-9_-]+$/;

/** Routing keys are dot-separated words, as in AMQP: `orders.eu.created`. */
export function assertRoutingKey(key: unknown, field = 'routingKey'): asserts key is string {
  if (typeof key !== 'string' || key.length > 255 || !key.split('.').every((w) => WORD.test(w))) {
    throw new InvalidRequestError(
      field,
      'must be dot-separated words of letters, digits, _ or - (at most 255 characters)',
    );
  }
}

/**
 * Compiles an AMQP topic pattern to a POSIX regular expression that Postgres applies in
 * the fan-out (`routing_key ~ routing_regex`): `*` is exactly one word, `#` zero or more.
 * A `#` swallows the dot beside it, so `orders.#` matches `orders` and `#.created`
 * matches `created`.
 */
export function routingPattern(pattern: unknown, field = 'routingKey'): string {
  if (typeof pattern !== 'string' || pattern.length > 255) {
    throw new InvalidRequestError(field, 'must be a pattern of at most 255 characters');
  }
  const words = pattern.split('.');
  if (!words.every((w) => w === '*' || w === '#' || WORD.test(w))) {
    throw new InvalidRequestError(field, 'must be dot-separated words, `*` (one word) or `#` (zero or more words)');
  }
  let regex = '';
  let dotPending = false; // whether the next word needs a leading dot
  words.forEach((word, i) => {
    if (word === '#') {
      if (i === 0) {
        regex += words.length === 1 ? '.*' : '(?:[^.]+\\.)*';
        dotPending = false;
      } else {
        regex += '(?:\\.[^.]+)*';
        dotPending = true;
      }
      return;
    }
    const atom = word === '*' ? '[^.]+' : word; // words are [A-Za-z0-9_-]: nothing to escape
    regex += (dotPending ? '\\.' : '') + atom;
    dotPending = true;
  });
  return `^${regex}$`;
}
