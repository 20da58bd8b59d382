import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailroomClient } from '@mailroom/core';
import { routingPattern } from '@mailroom/core/topic/routing-key';
import { RECOMPILE_ROUTING_SQL } from '../../migrations/1732000000005-producers-routing-transport';
import { createTestDatabase, startClient, type TestDatabase } from '../support/database';

let db: TestDatabase;
let client: MailroomClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await startClient(db.dataSource);
});
afterAll(async () => {
  await client?.close();
  await db?.drop();
});

/**
 * A RabbitMQ topic exchange, word by word and written from the AMQP definition, not from
 * Mailroom's regular expressions: "" has no words; `*` takes exactly one word; `#` takes
 * none or one more and stays.
 */
function amqpMatches(pattern: string[], key: string[]): boolean {
  if (pattern.length === 0) return key.length === 0;
  const [head, ...rest] = pattern;
  if (head === '#') return amqpMatches(rest, key) || (key.length > 0 && amqpMatches(pattern, key.slice(1)));
  return key.length > 0 && (head === '*' || head === key[0]) && amqpMatches(rest, key.slice(1));
}
const words = (text: string) => (text === '' ? [] : text.split('.'));

/** Every sequence of `length` items from `alphabet`, joined with dots. */
function sequences(alphabet: string[], length: number): string[] {
  if (length === 0) return [''];
  return sequences(alphabet, length - 1).flatMap((prefix) => alphabet.map((w) => (prefix ? `${prefix}.${w}` : w)));
}
const upTo = (alphabet: string[], max: number) =>
  Array.from({ length: max + 1 }, (_, n) => sequences(alphabet, n)).flat();

describe('routing keys as a RabbitMQ topic exchange matches them', () => {
  it('delivers through the real fan-out exactly what AMQP matches, for every pattern and key up to 3 and 5 words', async () => {
    const patterns = upTo(['a', 'b', '*', '#'], 3); // 85 patterns, "" included
    const keys = upTo(['a', 'b'], 5); // 63 keys, "" included
    await client.createTopic('exhaustive');
    for (const [i, routingKey] of patterns.entries()) await client.subscribe('exhaustive', `p${i}`, { routingKey });
    // "" is published as no key at all: AMQP's empty routing key.
    await client.publishBatch(
      'exhaustive',
      keys.map((key) => (key === '' ? { body: key } : { body: key, routingKey: key })),
    );
    const copies: { pattern: string; key: string }[] = await db.dataSource.query(`
      SELECT s.routing_key AS pattern, m.body #>> '{}' AS key
        FROM mailroom_message m JOIN mailroom_subscription s ON s.id = m.subscription_id`);
    const delivered = new Set(copies.map((c) => `${c.pattern} ${c.key}`));
    const expected = new Set(
      patterns.flatMap((p) => keys.filter((k) => amqpMatches(words(p), words(k))).map((k) => `${p} ${k}`)),
    );
    expect(copies).toHaveLength(expected.size); // no copy twice
    expect([...delivered].filter((pair) => !expected.has(pair))).toEqual([]);
    expect([...expected].filter((pair) => !delivered.has(pair))).toEqual([]);

    // Subscriptions made before the fix get the same expressions from the migration.
    const compiled = `SELECT routing_key, routing_regex FROM mailroom_subscription ORDER BY id`;
    const written = await db.dataSource.query(compiled);
    await db.dataSource.query(`UPDATE mailroom_subscription SET routing_regex = 'stale'`);
    await db.dataSource.query(RECOMPILE_ROUTING_SQL);
    expect(await db.dataSource.query(compiled)).toEqual(written);
  });

  it('matches in Postgres as AMQP does for 20,000 random patterns and keys', async () => {
    const word = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'c') },
      { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,3}$/) },
    );
    const key = fc.array(word, { maxLength: 8 });
    const pattern = fc.array(fc.oneof(word, fc.constantFrom('*', '#')), { maxLength: 7 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(pattern, key), { minLength: 100, maxLength: 100 }), async (pairs) => {
        // The fan-out's own test: `coalesce(routing_key, '') ~ routing_regex` (publish.sql.ts).
        const rows: { matched: boolean }[] = await db.dataSource.query(
          `SELECT coalesce(k, '') ~ r AS matched
             FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(r, k, n) ORDER BY n`,
          [pairs.map(([p]) => routingPattern(p.join('.'))), pairs.map(([, k]) => (k.length ? k.join('.') : null))], // null: a keyless publish
        );
        const mismatches = pairs.filter(([p, k], i) => rows[i].matched !== amqpMatches(p, k));
        expect(mismatches).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('gives a keyless publish to `#` and `#.#` subscriptions and not to `*`', async () => {
    await client.createTopic('keyless');
    for (const [name, routingKey] of [
      ['hash', '#'],
      ['hashes', '#.#'],
      ['star', '*'],
      ['empty', ''],
    ])
      await client.subscribe('keyless', name, { routingKey });
    expect((await client.publish('keyless', 'no key')).deliveredTo).toBe(3);
    const bodies = async (queue: string) => (await client.receive(queue, { max: 10 })).map((m) => m.body);
    expect(await bodies('keyless.hash')).toEqual(['no key']);
    expect(await bodies('keyless.hashes')).toEqual(['no key']);
    expect(await bodies('keyless.empty')).toEqual(['no key']);
    expect(await bodies('keyless.star')).toEqual([]);
  });
});
