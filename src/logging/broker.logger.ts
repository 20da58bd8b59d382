import { ConsoleLogger, type LoggerService } from '@nestjs/common';
import pino, { type Logger as Pino } from 'pino';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
type Level = (typeof LOG_LEVELS)[number];

/**
 * The broker's logger from MAILROOM_LOG_FORMAT (json | pretty; default json unless stdout
 * is a terminal, so log files get no colour codes) and MAILROOM_LOG_LEVEL (default info).
 * A bad value fails the start naming the variable.
 */
export function brokerLogger(env: NodeJS.ProcessEnv = process.env): LoggerService {
  const format = choice(env, 'MAILROOM_LOG_FORMAT', LOG_FORMATS) ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const level = choice(env, 'MAILROOM_LOG_LEVEL', LOG_LEVELS) ?? 'info';
  if (format === 'json') return new PinoLogger(pino({ level, base: { pid: process.pid } }));
  return new ConsoleLogger({ logLevels: nestLevels(level) });
}

function choice<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): T | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (!allowed.includes(value as T)) throw new Error(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
  return value as T;
}

/** Nest's levels at or above a pino level (Nest's verbose is pino's trace). */
function nestLevels(level: Level) {
  const order = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'] as const;
  const from = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5, silent: 6 }[level];
  return order.slice(from);
}

/**
 * Nest's LoggerService over pino: one JSON object a line. Nest passes the context as the
 * last string argument; an object message (the request log) becomes fields of the line.
 */
class PinoLogger implements LoggerService {
  constructor(private readonly pino: Pino) {}

  log(message: unknown, ...params: unknown[]) {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]) {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]) {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]) {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]) {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]) {
    this.write('fatal', message, params);
  }

  private write(level: Exclude<Level, 'silent'>, message: unknown, params: unknown[]) {
    const context = typeof params.at(-1) === 'string' ? (params.pop() as string) : undefined;
    // Nest's error(message, stack, context): the stack is kept as its own field.
    const stack = level === 'error' && typeof params[0] === 'string' ? params[0] : undefined;
    if (message instanceof Error) this.pino[level]({ context, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.pino[level]({ context, ...message });
    else this.pino[level]({ context, stack }, String(message));
  }
}
