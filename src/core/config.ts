// Config helper: validate once against a zod schema, report every problem at once, freeze.
import { z } from 'zod';
import { InvalidConfigError } from './errors.ts';

/** Parses `input` with `schema`; throws InvalidConfigError listing every problem; returns a frozen copy. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown): Readonly<z.infer<S>> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new InvalidConfigError(
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * A decimal number from text (`12`, `-0.5`, `1e3`, `Infinity`/`inf`), else NaN. Stricter than
 * `Number()`, which also reads `0x10` as 16, `0b1` as 1 and `''` or `' '` as 0.
 */
export function parseDecimal(text: string): number {
  const s = text.trim();
  if (s === 'Infinity' || s === 'inf') return Number.POSITIVE_INFINITY;
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s) ? Number(s) : Number.NaN;
}

/**
 * Why `value` is not an http(s) URL, with the fix when only the scheme is missing
 * (`localhost:18086` → "did you mean http://localhost:18086?"); undefined when it is one.
 * `new URL('localhost:18086')` parses (scheme "localhost:"), so a plain URL check lets it through
 * and every request then fails later; this catches it at start.
 */
export function httpUrlProblem(value: string): string | undefined {
  if (!/^[a-z][a-z\d+.-]*:\/\//i.test(value)) {
    return `"${value}" has no scheme: did you mean http://${value.replace(/^\/+/, '')}?`;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `"${value}" must be an http:// or https:// URL`;
  }
  return undefined;
}

/** A string schema for an http(s) base URL, with httpUrlProblem's message. */
export function httpUrl() {
  return z.string().superRefine((value, ctx) => {
    const problem = httpUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/**
 * How one config key appears on the command line. The key, its validation and its default are
 * declared once, in the zod schema; this adds only what the command line needs.
 */
export interface CliOptionSpec {
  /** The flag. Default: the key in kebab case (`cyclePauseMs` → `--cycle-pause-ms`; a boolean whose default is true → `--no-…`). */
  flag?: string;
  /** Environment variable read when the flag is not given. */
  env: string;
  /** One line for --help; the unit, the default (from the schema) and the variable are appended. */
  help: string;
  /** Unit of the value ("ms", "hours"…): named in --help and the value placeholder unless `arg` is given. */
  unit?: string;
  /** Value placeholder in --help (`--port <port>`). Default: the unit, else "value". Switches have none. */
  arg?: string;
  /** The default as --help states it, where the schema has none or it is computed at start. */
  defaultText?: string;
  /** A command-line default that differs from the library's (e.g. the broker's store file). */
  cliDefault?: string;
  /** Also `<flag>-file <file>` (env `<env>_FILE`): the value read from a file (trimmed), for secrets. */
  fromFile?: boolean;
  /** The value must be an http(s) URL; checked before the schema, with the scheme to add. */
  url?: boolean;
}

/**
 * A config schema's command-line options: one entry per key of the schema's input (the type
 * checker asks for every key), `null` for keys the command line does not set directly.
 */
export type CliOptionTable<Input> = { readonly [K in keyof Input]-?: CliOptionSpec | null };
