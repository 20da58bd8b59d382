import { InvalidRequestError } from '../errors/mailroom.errors';

/**
 * Mailroom accepts the AMQP topic-exchange routing keys and patterns whose words are letters,
 * digits, `_` and `-`; RabbitMQ accepts more. Refused, where RabbitMQ would accept them:
 * empty words (`a..b`, `.a`, `a.`), any other character (spaces, `/`, `:`, non-ASCII, …),
 * and in patterns `*` or `#` inside a word (`a*`, which RabbitMQ takes literally).
 * For everything both accept, matching is RabbitMQ's (test/topics/routing-keys.spec.ts).
 */
const WORD = /^[A-Za-z0-9_-]+$/;
const MAX_LENGTH = 255;

/** The words of a key or pattern: as in AMQP, "" (or no key at all) has none. */
const wordsOf = (text: string): string[] => (text === '' ? [] : text.split('.'));

/** Routing keys are dot-separated words, as in AMQP: `orders.eu.created`, or "" for none. */
export function assertRoutingKey(key: unknown, field = 'routingKey'): asserts key is string {
  if (typeof key !== 'string' || key.length > MAX_LENGTH || !wordsOf(key).every((w) => WORD.test(w))) {
    throw new InvalidRequestError(
      field,
      'must be "" or dot-separated words of letters, digits, _ or - (at most 255 characters)',
    );
  }
}

/**
 * Regular-expression pieces, one per pattern word. Each word but the first starts after a
 * dot; the first starts at the beginning of the key (`^`, which matches nowhere else), so
 * `#` (zero or more words) can stand anywhere, also first and twice in a row.
 */
const ANY_WORDS = '(?:(?:\\.|^)[^.]+)*';
const ONE_WORD = '(?:\\.|^)[^.]+';
const WORD_START = '(?:\\.|^)';

/**
 * Compiles an AMQP topic pattern to the POSIX regular expression that Postgres applies in
 * the fan-out (`coalesce(routing_key, '') ~ routing_regex`): `*` is exactly one word, `#`
 * zero or more, "" matches only the empty key. A run of `#` means what one `#` means and is
 * compiled as one, which keeps the expression linear. Migration 1732000000005 recomputes
 * stored expressions with the same rule: change both together.
 */
export function routingPattern(pattern: unknown, field = 'routingKey'): string {
  if (typeof pattern !== 'string' || pattern.length > MAX_LENGTH) {
    throw new InvalidRequestError(field, 'must be a pattern of at most 255 characters');
  }
  const words = wordsOf(pattern);
  if (!words.every((w) => w === '*' || w === '#' || WORD.test(w))) {
    throw new InvalidRequestError(field, 'must be dot-separated words, `*` (one word) or `#` (zero or more words)');
  }
  const pieces = words
    .filter((word, i) => !(word === '#' && words[i - 1] === '#'))
    // Words are [A-Za-z0-9_-]: nothing in them needs escaping.
    .map((word) => (word === '#' ? ANY_WORDS : word === '*' ? ONE_WORD : WORD_START + word));
  return `^${pieces.join('')}$`;
}
