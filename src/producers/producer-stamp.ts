import type { ProducerStamp } from '@mailroom/core';
import { fieldsOf } from '../http/request-body';

/**
 * The `producer` field of a send, as an object of id, epoch and sequence (no more); their
 * values are the library's to check, naming `producer.epoch` and so on.
 */
export function stampOf(value: unknown): ProducerStamp | undefined {
  if (value === undefined) return undefined;
  return fieldsOf(value, ['id', 'epoch', 'sequence'], 'producer') as unknown as ProducerStamp;
}
