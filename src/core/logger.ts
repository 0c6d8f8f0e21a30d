// Logger options for the CLI: pino JSON lines by default, pino-pretty when stdout is a terminal.
import { createRequire } from 'node:module';
import { InvalidConfigError } from './errors.ts';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const FORMATS = ['auto', 'json', 'pretty'] as const;

export type LogFormat = (typeof FORMATS)[number];

export interface CliLoggerInput {
  /** Appears as `name` on every line, e.g. "broker" or "worker http://10.0.0.5:7000". */
  name?: string;
  /** Default: $JIT_LOG_LEVEL, else "info". */
  level?: string | undefined;
  /** "auto" (pretty on a terminal, JSON otherwise), "json" or "pretty". Default: $JIT_LOG_FORMAT, else "auto". */
  format?: string | undefined;
  /** Whether stdout is a terminal. Default: process.stdout.isTTY. */
  isTTY?: boolean;
}

/**
 * Fastify `logger` options. JSON lines (one object per line, for log shippers) unless stdout is
 * a terminal, where pino-pretty renders them for people. pino-pretty runs as a pino transport
 * (a worker thread), so the main thread never formats.
 */
export function cliLoggerOptions(input: CliLoggerInput = {}): Record<string, unknown> {
  const level = input.level ?? process.env.JIT_LOG_LEVEL ?? 'info';
  const format = input.format ?? process.env.JIT_LOG_FORMAT ?? 'auto';
  const problems: string[] = [];
  if (!(LEVELS as readonly string[]).includes(level)) {
    problems.push(`JIT_LOG_LEVEL: "${level}" is not one of ${LEVELS.join(', ')}`);
  }
  if (!(FORMATS as readonly string[]).includes(format)) {
    problems.push(`JIT_LOG_FORMAT: "${format}" is not one of ${FORMATS.join(', ')}`);
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);
  const isTTY = input.isTTY ?? process.stdout.isTTY === true;
  const pretty = format === 'pretty' || (format === 'auto' && isTTY);
  return {
    level,
    ...(input.name ? { name: input.name } : {}),
    ...(pretty
      ? {
          transport: {
            // Resolved here, so that it is found wherever the package is installed.
            target: createRequire(import.meta.url).resolve('pino-pretty'),
            // Decided here: the transport's thread cannot tell whether stdout is a terminal.
            options: { colorize: isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  };
}
