import type { Command } from './command';
import { fields, table } from './output';

interface Queue {
  name: string;
  state: string;
  options: Record<string, unknown> & { deadLetterQueue: string | null };
  stats: { available: number; inFlight: number; delayed: number; exhausted: number; expiredDropped: number };
}

const list: Command = {
  words: ['queues', 'ls'],
  args: [],
  options: {},
  summary: 'List queues with their message counts',
  async run({ api, out }) {
    const result = await api.get<{ queues: Queue[] }>(['v1', 'queues']);
    out.result(result, ({ queues }) =>
      queues.length === 0
        ? 'No queues.'
        : table(
            ['NAME', 'STATE', 'AVAILABLE', 'IN FLIGHT', 'DELAYED', 'EXHAUSTED', 'DLQ'],
            queues.map((q) => [
              q.name,
              q.state,
              String(q.stats.available),
              String(q.stats.inFlight),
              String(q.stats.delayed),
              String(q.stats.exhausted),
              q.options.deadLetterQueue ?? '-',
            ]),
          ),
    );
  },
};

const show: Command = {
  words: ['queues', 'show'],
  args: ['NAME'],
  options: {},
  summary: "A queue's state, message counts and options",
  async run({ args: [name], api, out }) {
    const queue = await api.get<Queue>(['v1', 'queues', name]);
    out.result(queue, (q) =>
      fields([
        ['name', q.name],
        ['state', q.state],
        ['available', q.stats.available],
        ['in flight', q.stats.inFlight],
        ['delayed', q.stats.delayed],
        ['exhausted', q.stats.exhausted],
        ['expired (dropped)', q.stats.expiredDropped],
        ...flatten(q.options).map(([key, value]): [string, string] => [`options.${key}`, value]),
      ]),
    );
  },
};

/** Nested options (retry.strategy...) as dotted keys, in the broker's order. */
function flatten(options: Record<string, unknown>, prefix = ''): [string, string][] {
  return Object.entries(options).flatMap(([key, value]): [string, string][] =>
    typeof value === 'object' && value !== null
      ? flatten(value as Record<string, unknown>, `${prefix}${key}.`)
      : [[`${prefix}${key}`, value === null ? 'none' : String(value)]],
  );
}

export const queueCommands = [list, show];
