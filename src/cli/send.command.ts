import { UsageError, type ParsedArgs } from './args';
import type { Command } from './command';

interface SendResult {
  id: string;
  sequence: number;
  duplicate: boolean;
}

const send: Command = {
  words: ['send'],
  args: ['NAME'],
  options: { body: 'value', header: 'list', id: 'value' },
  usage: '--body JSON [--header KEY=VALUE ...] [--id UUID]',
  summary: 'Send one message to a queue',
  async run({ args: [name], options, api, out }) {
    const message = { body: bodyOf(options), headers: headersOf(options), id: options.values.get('id') };
    const result = await api.post<SendResult>(['v1', 'queues', name, 'messages'], message);
    out.result(result, ({ id, sequence, duplicate }) =>
      duplicate
        ? `Already stored: ${id} (sequence ${sequence}); nothing new was sent.`
        : `Sent ${id} to ${name} (sequence ${sequence}).`,
    );
  },
};

function bodyOf(options: ParsedArgs): unknown {
  const text = options.values.get('body');
  if (text === undefined) throw new UsageError(`--body is required: a JSON value, such as --body '{"orderId": 42}'`);
  try {
    return JSON.parse(text);
  } catch (error) {
    // A bare word is the usual slip: say how to send it as a string.
    throw new UsageError(`--body is not JSON (${(error as Error).message}); a string needs quotes: --body '"text"'`);
  }
}

function headersOf(options: ParsedArgs): Record<string, string> | undefined {
  const pairs = options.lists.get('header');
  if (!pairs) return undefined;
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`--header takes KEY=VALUE, not "${pair}"`);
    headers[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return headers;
}

export const sendCommands = [send];
