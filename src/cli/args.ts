/** A mistake in the command line: exit code 1, with a message saying what to type instead. */
export class UsageError extends Error {
  readonly name = 'UsageError';
}

/** `flag`: --all; `value`: --to QUEUE or --to=QUEUE; `list`: --id A --id B. */
export type OptionKind = 'flag' | 'value' | 'list';

export type OptionSpec = Record<string, OptionKind>;

export interface ParsedArgs {
  positionals: string[];
  flags: Set<string>;
  values: Map<string, string>;
  lists: Map<string, string[]>;
}

/**
 * Parses what follows the command words. Every option must be declared: a misspelt
 * `--al` is an error rather than a redrive of nothing. After `--` everything is positional.
 */
export function parseArgs(tokens: string[], spec: OptionSpec): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], flags: new Set(), values: new Map(), lists: new Map() };
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (token === '--') {
      parsed.positionals.push(...tokens.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      parsed.positionals.push(token);
      continue;
    }
    const [option, inline] = splitOption(token);
    const kind = spec[option];
    if (kind === undefined) throw new UsageError(`unknown option ${token.split('=')[0]}`);
    if (kind === 'flag') {
      if (inline !== undefined) throw new UsageError(`--${option} takes no value`);
      parsed.flags.add(option);
      continue;
    }
    // A value may itself start with "-" (a negative number, JSON): the next token is taken as it is.
    const value = inline ?? tokens[++i];
    if (value === undefined) throw new UsageError(`--${option} needs a value`);
    if (kind === 'value') {
      if (parsed.values.has(option)) throw new UsageError(`--${option} given twice`);
      parsed.values.set(option, value);
    } else {
      parsed.lists.set(option, [...(parsed.lists.get(option) ?? []), value]);
    }
  }
  return parsed;
}

/** `--name=value` → [name, value]; `--name` → [name]; `-h` → [h]. */
function splitOption(token: string): [string, string | undefined] {
  const body = token.replace(/^--?/, '');
  const at = body.indexOf('=');
  return at < 0 ? [body, undefined] : [body.slice(0, at), body.slice(at + 1)];
}

/** A whole number of at least `min`, for options such as --limit and --rate. */
export function integerOption(args: ParsedArgs, option: string, min = 1): number | undefined {
  const value = args.values.get(option);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${option} must be a whole number of at least ${min}, not "${value}"`);
  }
  return Number(value);
}
