import { describe, expect, it } from 'vitest';
import { integerOption, parseArgs, UsageError } from '../../src/cli/args';

const spec = { all: 'flag', id: 'list', to: 'value', json: 'flag' } as const;

describe('parseArgs', () => {
  it('reads flags, values (spaced or with =) and repeated lists, keeping positionals in order', () => {
    const parsed = parseArgs(['orders', '--id', 'a', '--to=retry', '--id=b', 'extra', '--json'], spec);
    expect(parsed.positionals).toEqual(['orders', 'extra']);
    expect(parsed.lists.get('id')).toEqual(['a', 'b']);
    expect(parsed.values.get('to')).toBe('retry');
    expect([...parsed.flags]).toEqual(['json']);
  });

  it('takes the next token as a value even when it starts with a dash', () => {
    expect(parseArgs(['--to', '-1'], spec).values.get('to')).toBe('-1');
  });

  it('treats everything after -- as positional', () => {
    expect(parseArgs(['--', '--all', '-x'], spec).positionals).toEqual(['--all', '-x']);
  });

  it.each([
    [['--al'], 'unknown option --al'],
    [['--all=yes'], '--all takes no value'],
    [['--to'], '--to needs a value'],
    [['--to', 'a', '--to', 'b'], '--to given twice'],
  ])('refuses %j: %s', (tokens, message) => {
    expect(() => parseArgs(tokens, spec)).toThrow(new UsageError(message));
  });
});

describe('integerOption', () => {
  const options = (value: string) => parseArgs(['--to', value], spec);

  it('reads a whole number, and nothing when the option is absent', () => {
    expect(integerOption(options('25'), 'to')).toBe(25);
    expect(integerOption(parseArgs([], spec), 'to')).toBeUndefined();
  });

  it.each(['0', '-1', '1.5', '1e3', 'ten', '99999999999999999999'])('refuses %s', (value) => {
    expect(() => integerOption(options(value), 'to')).toThrow(UsageError);
  });
});
