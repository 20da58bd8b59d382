import type { Api } from './api';
import type { OptionSpec, ParsedArgs } from './args';
import type { Output } from './output';
import type { Terminal } from './progress';

export interface CommandContext {
  /** The positional arguments, in the order of `Command.args`. */
  args: string[];
  options: ParsedArgs;
  api: Api;
  out: Output;
  /** stderr, for progress bars. */
  terminal: Terminal;
}

/** One CLI command; `mailroom --help` is generated from these. */
export interface Command {
  /** The words that select it: `['dlq', 'redrive']`. */
  words: string[];
  /** Its positional arguments, as shown in usage: `['NAME', 'ID']`. */
  args: string[];
  options: OptionSpec;
  /** Its options as shown in usage, e.g. `(--all | --id ID ...) [--to QUEUE]`. */
  usage?: string;
  summary: string;
  run(context: CommandContext): Promise<void>;
}

/** `dlq show NAME ID`, as shown in help and usage errors. */
export function usageOf(command: Command): string {
  return [...command.words, ...command.args, command.usage ?? ''].join(' ').trim();
}
