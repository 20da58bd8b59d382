import { InvalidRequestError } from '@mailroom/core';

/**
 * JSON type checks for request bodies, so a wrong type is a 400 naming the field rather
 * than a surprise deeper down. Ranges and formats (max 1-100, receipt syntax, uuids) are
 * the library's to check: it is the one authority on them for HTTP and in-process callers.
 */
export type Fields = Record<string, unknown>;

/** The body as its fields: a JSON object (with no keys beyond `allowed`, if given); no body at all reads as `{}`. */
export function fieldsOf(body: unknown, allowed?: readonly string[], field = 'body'): Fields {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError(field, 'must be a JSON object');
  }
  const unknown = allowed && Object.keys(body).find((key) => !allowed.includes(key));
  if (allowed && unknown) {
    const known = allowed.length > 0 ? `allowed: ${allowed.join(', ')}` : 'this request takes none';
    // A nested object's fields are named by their path (`producer.id`), the body's own by their name.
    throw new InvalidRequestError(field === 'body' ? unknown : `${field}.${unknown}`, `unknown field; ${known}`);
  }
  return body as Fields;
}

export function integer(fields: Fields, name: string): number {
  const value = fields[name];
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new InvalidRequestError(name, 'must be an integer');
  return value;
}

export function optionalInteger(fields: Fields, name: string): number | undefined {
  return fields[name] === undefined ? undefined : integer(fields, name);
}

export function optionalString(fields: Fields, name: string): string | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidRequestError(name, 'must be a string');
  return value;
}

export function optionalBoolean(fields: Fields, name: string): boolean | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidRequestError(name, 'must be true or false');
  return value;
}

export function stringArray(fields: Fields, name: string): string[] {
  const value = fields[name];
  if (!Array.isArray(value)) throw new InvalidRequestError(name, 'must be an array of strings');
  const wrong = value.findIndex((item) => typeof item !== 'string');
  if (wrong >= 0) throw new InvalidRequestError(`${name}[${wrong}]`, 'must be a string');
  return value as string[];
}

export function optionalStringArray(fields: Fields, name: string): string[] | undefined {
  return fields[name] === undefined ? undefined : stringArray(fields, name);
}
