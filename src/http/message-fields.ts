import { InvalidRequestError } from '@mailroom/core';
import { fieldsOf, type Fields } from './request-body';

/** Largest batch one request may send or publish. */
export const MAX_BATCH = 1000;

/**
 * A single message's body and its other fields, ready for client.send or client.publish.
 * Those take the caller's transaction as option `manager` beside the message fields: read
 * from JSON it would be taken for an EntityManager, so it is refused as the unknown field
 * it is. Every other field is the library's to check.
 */
export function messageOf(fields: Fields): { body: unknown; options: Fields } {
  const { body, ...options } = fields;
  if ('manager' in options) throw new InvalidRequestError('manager', 'unknown message field');
  return { body, options };
}

/**
 * `{ messages: [...] }` checked as an envelope (with no fields beyond `allowed`). Each
 * message's fields are checked by the library, which names the one at fault.
 */
export function batchOf(fields: Fields, allowed: readonly string[] = ['messages']): unknown[] {
  const { messages } = fieldsOf(fields, allowed);
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH) {
    throw new InvalidRequestError('messages', `must be an array of 1 to ${MAX_BATCH} messages`);
  }
  // The library checks this too, but names the field "messages[i]." with a stray dot.
  messages.forEach((message, i) => fieldsOf(message, undefined, `messages[${i}]`));
  return messages;
}
