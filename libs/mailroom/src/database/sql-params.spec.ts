import { describe, expect, it } from 'vitest';
import { statement } from './sql-params';

describe('statement', () => {
  const held = (p: { queue: string; ids: string }) =>
    `held AS (SELECT * FROM t WHERE q = ${p.queue} AND id = ANY(${p.ids}))`;

  it('numbers named parameters in the order given, across fragments', () => {
    const sql = statement(['queue', 'ids', 'limit'], (p) => `WITH ${held(p)} SELECT * FROM held LIMIT ${p.limit}`);
    expect(sql.text).toBe('WITH held AS (SELECT * FROM t WHERE q = $1 AND id = ANY($2)) SELECT * FROM held LIMIT $3');
    expect(sql.values({ limit: 10, ids: ['a'], queue: 7 })).toEqual([7, ['a'], 10]);
  });

  it('lets a name be used any number of times, and tells $1 from $10', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] as const;
    const sql = statement(
      names,
      (p) =>
        `SELECT ${p.j}, ${p.j}, ${names
          .slice(1, 9)
          .map((n) => p[n])
          .join(', ')}, ${p.a}`,
    );
    expect(sql.text).toBe('SELECT $10, $10, $2, $3, $4, $5, $6, $7, $8, $9, $1');
    expect(() => statement(names, (p) => `SELECT ${p.j}`)).toThrow(/never uses a, b, c, d, e, f, g, h, i$/);
  });

  it('fails where it is defined on a name it does not declare, an unused one, or a repeated one', () => {
    expect(() => statement(['queue'], (p) => `SELECT ${(p as Record<string, string>).queu}`)).toThrow(
      /no parameter "queu"/,
    );
    expect(() => statement(['queue', 'max'], (p) => `SELECT ${p.queue}`)).toThrow(/never uses max/);
    expect(() => statement(['a', 'a'], (p) => `SELECT ${p.a}`)).toThrow(/repeat/);
  });
});
