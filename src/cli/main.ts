#!/usr/bin/env node
import { Api, ApiError, DEFAULT_URL, UnreachableError } from './api';
import { parseArgs, UsageError } from './args';
import { usageOf, type Command } from './command';
import { dlqCommands } from './dlq.command';
import { EXIT, helpText } from './help';
import { keyCommands } from './keys.command';
import { Output } from './output';
import { queueCommands } from './queues.command';
import { sendCommands } from './send.command';
import { workflowCommands } from './workflows.command';

const COMMANDS: Command[] = [...queueCommands, ...sendCommands, ...dlqCommands, ...workflowCommands, ...keyCommands];

/** Accepted anywhere, by every command. */
const GLOBAL_OPTIONS = { json: 'flag', help: 'flag', h: 'flag', key: 'value' } as const;

async function main(argv: string[]): Promise<number> {
  // Read before anything can fail, so that even a usage error answers in JSON when asked to.
  const out = new Output(argv.includes('--json'));
  try {
    if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
      process.stdout.write(helpText(COMMANDS));
      return EXIT.ok;
    }
    const { command, rest } = select(argv);
    const options = parseArgs(rest, { ...GLOBAL_OPTIONS, ...command.options });
    if (options.positionals.length !== command.args.length) {
      throw new UsageError(`expected: mailroom ${usageOf(command)}`);
    }
    // --key is for a one-off; MAILROOM_KEY keeps the key out of the shell history and `ps`.
    const api = new Api(
      process.env.MAILROOM_URL || DEFAULT_URL,
      options.values.get('key') ?? (process.env.MAILROOM_KEY || undefined),
    );
    await command.run({ args: options.positionals, options, api, out, terminal: process.stderr });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      out.error({ code: 'usage', message: error.message });
      out.note('Run "mailroom --help" for the commands and their options.');
      return EXIT.usage;
    }
    if (error instanceof ApiError) {
      out.error(error.body);
      return EXIT.api;
    }
    if (error instanceof UnreachableError) {
      out.error({ code: 'unreachable', message: error.message });
      return EXIT.unreachable;
    }
    throw error;
  }
}

/** The command named by the leading words (global flags may come before them), and the tokens after. */
function select(argv: string[]): { command: Command; rest: string[] } {
  const words: string[] = [];
  for (const [i, token] of argv.entries()) {
    if (token === '--json') continue;
    if (token.startsWith('-')) break;
    words.push(token);
    const command = COMMANDS.find((c) => c.words.join(' ') === words.join(' '));
    if (command) return { command, rest: argv.slice(i + 1) };
  }
  const group = COMMANDS.filter((c) => c.words.length > 1 && c.words[0] === words[0]);
  if (words.length === 0) throw new UsageError('no command given');
  if (group.length > 0 && words.length === 1) {
    throw new UsageError(`"${words[0]}" needs one of: ${group.map((c) => c.words[1]).join(', ')}`);
  }
  throw new UsageError(`unknown command "${words.join(' ')}"`);
}

// A reader that stops early (`| head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Not one of the failures above: a bug in the CLI. Exit 1 would be mistaken for a usage error.
    process.stderr.write(`mailroom: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = EXIT.internal;
  },
);
