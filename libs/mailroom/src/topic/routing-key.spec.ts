import { describe, expect, it } from 'vitest';
import { assertRoutingKey, routingPattern } from './routing-key';

const matches = (pattern: string, key: string) => new RegExp(routingPattern(pattern)).test(key);

describe('routing patterns (AMQP topic semantics)', () => {
  it.each([
    ['orders.*', 'orders.created', true],
    ['orders.*', 'orders', false],
    ['orders.*', 'orders.eu.created', false],
    ['orders.#', 'orders', true],
    ['orders.#', 'orders.eu.created', true],
    ['orders.#', 'ordersx', false],
    ['#.created', 'created', true],
    ['#.created', 'orders.eu.created', true],
    ['#.created', 'orders.createdx', false],
    ['orders.#.created', 'orders.created', true],
    ['orders.#.created', 'orders.eu.de.created', true],
    ['*.created', 'orders.created', true],
    ['*.created', 'created', false],
    ['#', '', true],
    ['#', 'a.b.c', true],
    ['orders', 'orders', true],
    ['orders', 'orders.x', false],
    ['a-b.*', 'a-b.c', true],
    ['#.#', '', true],
    ['#.#', 'a', true],
    ['#.#', 'a.b.c', true],
    ['#.#.a', 'a', true],
    ['#.#.a', 'x.y.a', true],
    ['#.#.a', 'x.a.b', false],
    ['#.#.*', '', false],
    ['#.#.*', 'a', true],
    ['#.#.*', 'a.b', true],
    ['#.*.#', 'a.b.c', true],
    ['*.#.*', 'a', false],
    ['*', '', false],
    ['', '', true],
    ['', 'a', false],
  ])('%s against %s → %s', (pattern, key, expected) => {
    expect(matches(pattern, key)).toBe(expected);
  });

  it('refuses patterns that are not words, * or #', () => {
    expect(() => routingPattern('orders.**')).toThrow(/routingKey/);
    expect(() => routingPattern('orders..x')).toThrow(/routingKey/);
    expect(() => routingPattern("o'; drop")).toThrow(/routingKey/);
    expect(() => routingPattern('a*.b')).toThrow(/routingKey/);
  });

  it('compiles a run of # as one #', () => {
    expect(routingPattern('a.#.#.#.b')).toBe(routingPattern('a.#.b'));
  });

  it('accepts the empty key and refuses empty words and other characters', () => {
    expect(() => assertRoutingKey('')).not.toThrow();
    for (const key of ['a..b', '.a', 'a.', 'a b', 'a/b', 'é', '*', '#']) {
      expect(() => assertRoutingKey(key), key).toThrow(/routingKey/);
    }
  });
});
