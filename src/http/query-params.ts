import { InvalidRequestError } from '@mailroom/core';

export type Params = Record<string, string>;

/**
 * The query string as single string values. The query parser reads `?a=1&a=2` as an
 * array: a 400 here rather than a surprise further down. An
 * unknown parameter is refused like an unknown body field, so a misspelt `?reasn=` does
 * not quietly return everything.
 */
export function paramsOf(query: Record<string, unknown>, allowed: readonly string[]): Params {
  for (const [name, value] of Object.entries(query)) {
    if (!allowed.includes(name)) {
      throw new InvalidRequestError(name, `unknown query parameter; allowed: ${allowed.join(', ')}`);
    }
    if (typeof value !== 'string') throw new InvalidRequestError(name, 'must be given once, as a plain value');
  }
  return query as Params;
}

/** A decimal integer; its range is the library's to check. */
export function integerParam(params: Params, name: string): number | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (!/^-?\d{1,16}$/.test(value)) throw new InvalidRequestError(name, 'must be an integer');
  return Number(value);
}
