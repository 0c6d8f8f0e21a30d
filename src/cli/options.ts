// Helpers for CLI options: every option has an env variable; values stay strings until zod validates.
import { InvalidConfigError } from '../core/errors.ts';
import { readFileSync } from 'node:fs';
import { Option } from 'commander';

/** An option `--flag <value>` that also reads `env`, with its default shown in --help. */
export function opt(
  flags: string,
  description: string,
  env: string,
  defaultValue?: string,
): Option {
  const o = new Option(flags, description).env(env);
  return defaultValue === undefined ? o : o.default(defaultValue);
}

/** Number from a CLI string; NaN (reported by the config schema) when it is not one. */
export function num(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return Number.NaN;
  const s = value.trim();
  if (s === 'Infinity' || s === 'inf') return Number.POSITIVE_INFINITY;
  return s === '' ? Number.NaN : Number(s);
}

/** Boolean from a CLI/env string: true/false/1/0/yes/no. */
export function bool(value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  return typeof value === 'string' && /^(1|true|yes|on)$/i.test(value);
}

/** Drops keys whose value is undefined, so schema defaults apply. */
export function defined<T extends Record<string, unknown>>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `cyclePauseMs` → `--cycle-pause-ms`, unless `overrides` names the flag. */
function flagOf(key: string, overrides: Record<string, string>): string {
  return overrides[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Runs `build` and, when it throws an InvalidConfigError, rethrows it with each problem naming
 * the command-line flag (and the config key) instead of the key alone.
 */
export function withFlagNames<T>(build: () => T, overrides: Record<string, string> = {}): T {
  try {
    return build();
  } catch (err) {
    if (!(err instanceof InvalidConfigError)) throw err;
    throw new InvalidConfigError(
      err.problems.map((p) => {
        const m = /^([\w.]+): (.*)$/s.exec(p);
        if (!m) return p;
        const key = m[1] as string;
        const flag = flagOf(key, overrides);
        return `${flag} (${key}): ${m[2]}`;
      }),
    );
  }
}

/** `--<scope>-token` and `--<scope>-token-file` (with JIT_<SCOPE>_TOKEN[_FILE]); read with tokenFrom. */
export function tokenOptions(scope: string, description: string): [Option, Option] {
  const env = `JIT_${scope.toUpperCase()}_TOKEN`;
  return [
    opt(`--${scope}-token <token>`, description, env),
    opt(
      `--${scope}-token-file <file>`,
      `read the ${scope} token from this file (default: none)`,
      `${env}_FILE`,
    ),
  ];
}

/**
 * A token given directly or in a file (trimmed). Both at once, or a file that cannot be read,
 * is a config problem: answered as a value the schema rejects with that message.
 */
export function tokenFrom(
  scope: string,
  value: string | undefined,
  file: string | undefined,
): string | undefined {
  if (value !== undefined && file !== undefined) {
    throw new InvalidConfigError([
      `--${scope}-token and --${scope}-token-file: give one, not both`,
    ]);
  }
  if (file === undefined) return value;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new InvalidConfigError([
      `--${scope}-token-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
}
