// CLI options generated from a config schema and its option table: flags, env, help, values, errors.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import {
  httpUrlProblem,
  parseConfig,
  parseDecimal,
  type CliOptionSpec,
  type CliOptionTable,
} from '../core/config.ts';
import { InvalidConfigError } from '../core/errors.ts';

/**
 * An option `--flag <value>` that also reads `env`, with its default shown in --help; for
 * commands without a config table (`jit demo`).
 */
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
  return typeof value === 'string' ? parseDecimal(value) : Number.NaN;
}

/**
 * A switch's value from an environment variable: 1/true/yes/on → true, 0/false/no/off → false
 * (any case), anything else → undefined (the caller reports it). Presence alone is not "on":
 * `JIT_NO_REGISTER=0` must not disable registration.
 */
export function parseSwitch(value: string): boolean | undefined {
  const s = value.trim().toLowerCase();
  if (/^(1|true|yes|on)$/.test(s)) return true;
  if (/^(0|false|no|off)$/.test(s)) return false;
  return undefined;
}

/** Drops keys whose value is undefined, so schema defaults apply. */
export function defined<T extends Record<string, unknown>>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** How a value is read from its command-line text, decided by the schema's type. */
type Kind = 'number' | 'string' | 'switch' | 'json' | 'list';

interface ZodDefLike {
  type: string;
  innerType?: { _zod: { def: ZodDefLike } };
  options?: { _zod: { def: ZodDefLike } }[];
}

/** The kind of a field from its zod type: number, boolean (a switch), object/record (JSON), array (comma list). */
function kindOf(field: z.ZodType): Kind {
  let def = field._zod.def as unknown as ZodDefLike;
  while (def.innerType && ['default', 'optional', 'prefault', 'nullable'].includes(def.type)) {
    def = def.innerType._zod.def;
  }
  switch (def.type) {
    case 'number':
      return 'number';
    case 'boolean':
      return 'switch';
    case 'record':
    case 'object':
      return 'json';
    case 'array':
      return 'list';
    case 'union':
      // maxMs: a number or the literal Infinity.
      return def.options?.some((o) => o._zod.def.type === 'number') ? 'number' : 'string';
    default:
      return 'string';
  }
}

/** The schema's default for a field (what parsing "not given" yields), or undefined. */
function schemaDefault(field: z.ZodType): unknown {
  const r = field.safeParse(undefined);
  return r.success ? r.data : undefined;
}

/** `cyclePauseMs` → `--cycle-pause-ms`. */
function kebabFlag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** One generated option: the config key, its declaration, and what commander knows it by. */
interface GeneratedOption {
  key: string;
  spec: CliOptionSpec;
  kind: Kind;
  flag: string;
  option: Option;
  fileOption: Option | undefined;
}

/** The options generated from one table; read them back with {@link OptionSet.read}. */
export interface OptionSet {
  readonly options: readonly GeneratedOption[];
  /** Config key → flag, for error messages (`port` → `--port`). */
  readonly flags: Readonly<Record<string, string>>;
  /**
   * The values given on the command line or in the environment, converted by kind, keyed by
   * config key. Values left at their default are omitted so the schema's default applies (a
   * `cliDefault` is included). Values that cannot be read at all (a switch variable that is
   * not yes/no, JSON that does not parse, an unreadable token file, a URL without a scheme) are
   * returned as problems naming the flag, and left out.
   */
  read(cmd: Command): { values: Record<string, unknown>; problems: string[] };
}

/**
 * Adds to `cmd` one option per entry of `table`, in the table's order: flag, value placeholder,
 * help with the unit, the default from `schema` (or the entry's `cliDefault`/`defaultText`) and
 * the environment variable.
 */
export function addOptions<S extends z.ZodObject>(
  cmd: Command,
  schema: S,
  table: CliOptionTable<z.input<S>>,
): OptionSet {
  const shape = schema.shape as Record<string, z.ZodType>;
  const options: GeneratedOption[] = [];
  for (const [key, spec] of Object.entries<CliOptionSpec | null>(table)) {
    if (spec === null) continue;
    const field = shape[key];
    if (!field) throw new Error(`option table names "${key}", which the schema does not have`);
    const kind = kindOf(field);
    const fallback = schemaDefault(field);
    const flag =
      spec.flag ??
      (kind === 'switch' && fallback === true ? `--no-${kebabFlag(key).slice(2)}` : kebabFlag(key));
    const help = `${spec.help}${spec.unit ? `, in ${spec.unit}` : ''}`;
    const option = new Option(
      kind === 'switch' ? flag : `${flag} <${spec.arg ?? spec.unit ?? 'value'}>`,
      spec.defaultText === undefined ? help : `${help} (default: ${spec.defaultText})`,
    ).env(spec.env);
    const shown = spec.cliDefault ?? displayDefault(fallback);
    // Shown in --help; when parsed, a value whose source is "default" is dropped (see read).
    if (shown !== undefined && kind !== 'switch' && spec.defaultText === undefined) {
      option.default(shown);
    }
    cmd.addOption(option);
    let fileOption: Option | undefined;
    if (spec.fromFile) {
      fileOption = new Option(
        `${flag}-file <file>`,
        `read ${flag.slice(2)} from this file (default: none)`,
      ).env(`${spec.env}_FILE`);
      cmd.addOption(fileOption);
    }
    options.push({ key, spec, kind, flag, option, fileOption });
  }
  const flags = Object.fromEntries(options.map((o) => [o.key, o.flag]));
  return { options, flags, read: (c) => readOptions(c, options) };
}

/** A schema default as --help shows it (objects and empty lists are not shown). */
function displayDefault(value: unknown): string | undefined {
  if (typeof value === 'number' || typeof value === 'string') return String(value);
  if (Array.isArray(value) && value.length > 0) return value.join(',');
  return undefined;
}

function readOptions(
  cmd: Command,
  options: readonly GeneratedOption[],
): { values: Record<string, unknown>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const { key, spec, kind, flag, option, fileOption } of options) {
    const name = option.attributeName();
    const source = cmd.getOptionValueSource(name);
    let raw: unknown = cmd.getOptionValue(name);
    if (fileOption) {
      const file = cmd.getOptionValue(fileOption.attributeName()) as string | undefined;
      if (file !== undefined && raw !== undefined) {
        problems.push(`${flag} and ${flag}-file: give one, not both`);
        continue;
      }
      if (file !== undefined) {
        try {
          values[key] = readFileSync(file, 'utf8').trim();
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'error';
          problems.push(`${flag}-file: cannot read ${file} (${code})`);
        }
        continue;
      }
    }
    if (source === undefined || raw === undefined) continue;
    if (source === 'default') {
      if (spec.cliDefault === undefined) continue; // the schema's default applies
      raw = spec.cliDefault;
    }
    if (kind === 'switch') {
      if (source !== 'env') {
        values[key] = raw;
        continue;
      }
      // commander sets a switch when its variable is merely present; read the value instead.
      const text = process.env[spec.env] ?? '';
      const on = parseSwitch(text);
      if (on === undefined) {
        problems.push(
          `${flag} (${spec.env}=${JSON.stringify(text.slice(0, 40))}): not a yes/no value; use 1, true, yes, on or 0, false, no, off`,
        );
      } else values[key] = flag.startsWith('--no-') ? !on : on;
      continue;
    }
    const text = String(raw);
    if (spec.url) {
      const problem = httpUrlProblem(text);
      if (problem) {
        problems.push(`${flag} (${key}): ${problem}`);
        continue;
      }
    }
    if (kind === 'number') {
      const n = num(text);
      if (Number.isNaN(n))
        problems.push(`${flag} (${key}): ${JSON.stringify(text)} is not a number`);
      else values[key] = n;
    } else if (kind === 'list') {
      values[key] = text
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    } else if (kind === 'json') {
      try {
        values[key] = JSON.parse(text) as unknown;
      } catch {
        problems.push(`${flag} (${key}): not JSON: ${text.slice(0, 40)}`);
      }
    } else values[key] = text;
  }
  return { values, problems };
}

/**
 * `port: Invalid input` → `--port (port): Invalid input`: a schema problem named by its flag.
 * `flags` maps config keys (or dotted paths, e.g. `strategyOptions.sigma.k`) to flags; other
 * keys become kebab-case flags. Problems that do not start with a key are kept as they are.
 */
export function nameFlag(problem: string, flags: Record<string, string>): string {
  const m = /^([\w.]+): (.*)$/s.exec(problem);
  if (!m) return problem;
  const key = m[1] as string;
  // `strategyOptions.adaptive.gamma` is set by the flag of its longest named prefix.
  const parts = key.split('.');
  for (let n = parts.length; n > 0; n--) {
    const flag = flags[parts.slice(0, n).join('.')];
    if (flag) return `${flag} (${key}): ${m[2]}`;
  }
  return `${kebabFlag(parts[0] as string)} (${key}): ${m[2]}`;
}

/**
 * Validates `values` with `schema` and throws one InvalidConfigError listing `problems` (found
 * while reading the options) and every schema problem, each naming its flag.
 */
export function parseWithFlags<S extends z.ZodType>(
  schema: S,
  values: Record<string, unknown>,
  problems: readonly string[],
  flags: Record<string, string>,
): Readonly<z.infer<S>> {
  let schemaProblems: readonly string[] = [];
  let config: Readonly<z.infer<S>> | undefined;
  try {
    config = parseConfig(schema, values);
  } catch (err) {
    if (!(err instanceof InvalidConfigError)) throw err;
    schemaProblems = err.problems.map((p) => nameFlag(p, flags));
  }
  const all = [...problems, ...schemaProblems];
  if (all.length > 0 || config === undefined) throw new InvalidConfigError(all);
  return config;
}
