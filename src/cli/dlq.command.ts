import { integerOption, UsageError, type ParsedArgs } from './args';
import type { Command } from './command';
import { clip, fields, indent, plural, table } from './output';
import { ProgressBar } from './progress';

interface DeadLetter {
  id: string;
  body: unknown;
  headers: Record<string, string>;
  queue: string;
  deadLetterQueue: string;
  reason: string;
  deliveryCount: number;
  error: string | null;
  stack: string | null;
  consumer: string | null;
  firstFailedAt: string;
  lastFailedAt: string;
  deadLetteredAt: string;
}

const list: Command = {
  words: ['dlq', 'ls'],
  args: ['NAME'],
  options: { reason: 'value', limit: 'value', cursor: 'value' },
  usage: '[--reason R] [--limit N] [--cursor C]',
  summary: "A page of a queue's dead letters, oldest first (--limit, default 50)",
  async run({ args: [name], options, api, out }) {
    const page = await api.get<{ deadLetters: DeadLetter[]; nextCursor: string | null }>(
      ['v1', 'queues', name, 'dead-letters'],
      {
        reason: options.values.get('reason'),
        limit: integerOption(options, 'limit')?.toString(),
        cursor: options.values.get('cursor'),
      },
    );
    out.result(page, ({ deadLetters }) =>
      deadLetters.length === 0
        ? `No dead letters of ${name}.`
        : table(
            ['ID', 'REASON', 'DELIVERIES', 'DEAD-LETTERED', 'ERROR'],
            deadLetters.map((d) => [d.id, d.reason, String(d.deliveryCount), d.deadLetteredAt, clip(d.error)]),
          ),
    );
    if (page.nextCursor) out.note(`More: mailroom dlq ls ${name} --cursor ${page.nextCursor}`);
  },
};

const show: Command = {
  words: ['dlq', 'show'],
  args: ['NAME', 'ID'],
  options: {},
  summary: 'One dead letter: its body, headers and last failure',
  async run({ args: [name, id], api, out }) {
    const deadLetter = await api.get<DeadLetter>(['v1', 'queues', name, 'dead-letters', id]);
    out.result(deadLetter, (d) =>
      [
        fields([
          ['id', d.id],
          ['queue', d.queue],
          ['dead-letter queue', d.deadLetterQueue],
          ['reason', d.reason],
          ['deliveries', d.deliveryCount],
          ['consumer', d.consumer],
          ['first failed', d.firstFailedAt],
          ['last failed', d.lastFailedAt],
          ['dead-lettered', d.deadLetteredAt],
          ['error', d.error],
        ]),
        'headers',
        indent(
          Object.entries(d.headers)
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n') || '(none)',
        ),
        'body',
        indent(JSON.stringify(d.body, null, 2)),
        ...(d.stack ? ['stack', indent(d.stack)] : []),
      ].join('\n'),
    );
  },
};

const purge: Command = {
  words: ['dlq', 'purge'],
  args: ['NAME'],
  options: { all: 'flag', id: 'list', reason: 'value' },
  usage: '(--all | --id ID ...) [--reason R]',
  summary: 'Delete dead letters for good',
  async run({ args: [name], options, api, out }) {
    const result = await api.post<{ purged: number }>(['v1', 'queues', name, 'dead-letters', 'purge'], {
      ...selection(options),
      reason: options.values.get('reason'),
    });
    out.result(result, ({ purged }) => `Purged ${plural(purged, 'dead letter')} of ${name}.`);
  },
};

/** One request's worth by default: the broker moves up to 1000 in one statement. */
const BATCH = 1000;

interface RedriveResult {
  moved: number;
  remaining: number;
}

const redrive: Command = {
  words: ['dlq', 'redrive'],
  args: ['NAME'],
  options: { all: 'flag', id: 'list', reason: 'value', to: 'value', rate: 'value', batch: 'value' },
  usage: '(--all | --id ID ...) [--reason R] [--to QUEUE] [--rate N] [--batch N]',
  summary: 'Move dead letters back to NAME (or QUEUE) as fresh messages, batch by batch',
  async run({ args: [name], options, api, out, terminal }) {
    const request = {
      ...selection(options),
      reason: options.values.get('reason'),
      to: options.values.get('to'),
      ratePerSecond: integerOption(options, 'rate'),
    };
    // With a rate, a batch of one second's worth keeps the progress bar moving every second.
    const batch = integerOption(options, 'batch') ?? request.ratePerSecond ?? BATCH;
    const progress = ProgressBar.on(terminal, `Redriving ${name}`);
    let moved = 0;
    let remaining = 0;
    // Fixed by the first answer: dead letters that fail again while this runs (their consumer
    // still broken) are not redriven round and round.
    let total: number | undefined;
    try {
      for (;;) {
        const limit = Math.min(batch, (total ?? Infinity) - moved);
        if (limit <= 0) break;
        const slice = await api.post<RedriveResult>(['v1', 'queues', name, 'dead-letters', 'redrive'], {
          ...request,
          limit,
        });
        moved += slice.moved;
        remaining = slice.remaining;
        total ??= slice.moved + slice.remaining;
        progress?.update(moved, total);
        // Fewer than asked: nothing more can be moved now (the rest is in flight, or the broker is stopping).
        if (slice.moved < limit || remaining === 0) break;
      }
    } catch (error) {
      progress?.finish();
      if (moved > 0) out.note(`Moved ${plural(moved, 'dead letter')} before the error below.`);
      throw error;
    }
    progress?.finish();
    out.result({ moved, remaining }, () => {
      const summary = `Moved ${plural(moved, 'dead letter')} of ${name} to ${request.to ?? name}.`;
      return remaining === 0
        ? summary
        : `${summary} ${remaining} still dead-lettered (in flight to a DLQ consumer, or failed again since).`;
    });
  },
};

/**
 * Which dead letters: --all or some --id, never neither. The broker refuses an empty
 * selection too, but saying so here names the options to use.
 */
function selection(options: ParsedArgs): { all: true } | { ids: string[] } {
  const ids = options.lists.get('id');
  const all = options.flags.has('all');
  if (all && ids) throw new UsageError('give --all or --id, not both');
  if (all) return { all: true };
  if (ids) return { ids };
  throw new UsageError('say which dead letters: --all, or --id ID (repeatable)');
}

export const dlqCommands = [list, show, redrive, purge];
