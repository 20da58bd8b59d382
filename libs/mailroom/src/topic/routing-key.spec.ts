import { describe, expect, it } from 'vitest';
import { routingPattern } from './routing-key';

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
  ])('%s against %s → %s', (pattern, key, expected) => {
    expect(matches(pattern, key)).toBe(expected);
  });

  it('refuses patterns that are not words, * or #', () => {
    expect(() => routingPattern('orders.**')).toThrow(/routingKey/);
    expect(() => routingPattern('orders..x')).toThrow(/routingKey/);
    expect(() => routingPattern("o'; drop")).toThrow(/routingKey/);
  });
});
