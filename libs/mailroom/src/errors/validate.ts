import { InvalidRequestError } from './mailroom.errors';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Names become part of REST paths and NOTIFY payloads; they are never spliced into SQL. */
export function assertName(name: unknown, field = 'name'): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidRequestError(field, `must match ${NAME.source}`);
  }
}

export function assertInteger(value: unknown, field: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidRequestError(field, `must be an integer from ${min} to ${max}`);
  }
}
