// Reads the endpoint list: one name per line, optional settings after " | "; `#` comments ignored.
import { readFile } from 'node:fs/promises';
import { parseDecimal } from '../core/config.ts';
import { endpointNameProblem } from '../core/endpoint-name.ts';
import { strategyNameProblem } from '../strategies/names.ts';
import type { EndpointEntry, EndpointOptions } from '../store/types.ts';

export interface EndpointList {
  names: string[];
  entries: EndpointEntry[];
  /** Lines that were not valid, with the reason (logged by the caller). */
  rejected: { line: number; text: string; reason: string }[];
}

/** Ranges of the numeric settings, as a test and the words that state it. */
const NUMERIC = {
  alpha: [(n: number) => n > 0 && n < 1, 'between 0 and 1, exclusive'],
  minMs: [(n: number) => n >= 0, 'at least 0'],
  maxMs: [(n: number) => n > 0, 'above 0'],
} as const;

const KNOWN_SETTINGS = 'alpha, strategy, minMs, maxMs';

/**
 * Settings after the last " | " of a line: `alpha=0.01 strategy=quantile minMs=50 maxMs=5000`.
 * (" | " because endpoint names may hold spaces, braces and brackets, but no bare pipe.) Returns
 * the options, or why they cannot be read: a word without "=" ("setting 'alpha 0.01' is not
 * key=value"), an empty value, a number that is not one or out of range, an unknown strategy
 * (the broker never builds strategies, so the check is against the built-in names), a setting
 * given twice, or no settings at all.
 */
export function parseEndpointOptions(text: string): EndpointOptions | string {
  const options: EndpointOptions = {};
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return `no settings after " | " (known: ${KNOWN_SETTINGS})`;
  for (let i = 0; i < words.length; i++) {
    const pair = words[i] as string;
    const eq = pair.indexOf('=');
    if (eq === -1) {
      // `alpha 0.01`: name the value too, which is the likely missing "=".
      const next = words[i + 1];
      const shown = next !== undefined && !next.includes('=') ? `${pair} ${next}` : pair;
      return `setting '${shown}' is not key=value`;
    }
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key === '') return `setting '${pair}' has no key`;
    if (key !== 'strategy' && !(key in NUMERIC)) {
      return `unknown setting "${key}" (known: ${KNOWN_SETTINGS})`;
    }
    if (value === '') return `setting '${pair}' has no value`;
    if (options[key as keyof EndpointOptions] !== undefined) return `${key} is given twice`;
    if (key === 'strategy') {
      const problem = strategyNameProblem(value);
      if (problem) return problem;
      options.strategy = value;
      continue;
    }
    const k = key as keyof typeof NUMERIC;
    const n = parseDecimal(value);
    if (!Number.isFinite(n)) return `${key}=${value} is not a number`;
    const [ok, range] = NUMERIC[k];
    if (!ok(n)) return `${key}=${value} is out of range (${range})`;
    options[k] = n;
  }
  if (options.minMs !== undefined && options.maxMs !== undefined && options.minMs > options.maxMs) {
    return 'minMs must not exceed maxMs';
  }
  return options;
}

/** Same settings (the order of keys aside)? */
function sameOptions(a: EndpointOptions, b: EndpointOptions): boolean {
  const keys = ['alpha', 'strategy', 'minMs', 'maxMs'] as const;
  return keys.every((k) => a[k] === b[k]);
}

/**
 * Parses the list. A line is skipped, with its reason in `rejected`, when its name is not
 * acceptable, its settings cannot be read, it ends in a bar with nothing after it (`shipping |`,
 * not an endpoint named "shipping |"), settings follow a bar without the spaces around it
 * (`shipping|alpha=0.01`), or it repeats an endpoint with other settings (the first line wins).
 * A plain repetition is ignored silently.
 */
export function parseEndpointList(text: string): EndpointList {
  const entries: EndpointEntry[] = [];
  const seen = new Map<string, { line: number; options: EndpointOptions }>();
  const rejected: EndpointList['rejected'] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const reject = (reason: string) =>
      rejected.push({ line: i + 1, text: line.slice(0, 80), reason });
    // A trailing bar (trimmed, so " | " lost its last space): the settings are missing.
    if (/(^|\s)\|$/.test(line)) {
      reject(`no settings after " | " (known: ${KNOWN_SETTINGS}); remove the bar or add settings`);
      return;
    }
    const bar = line.lastIndexOf(' | ');
    const name = (bar === -1 ? line : line.slice(0, bar)).trim();
    // `name|alpha=0.01`: settings glued to the name would silently become part of it.
    const glued = /\|\s*((alpha|strategy|minMs|maxMs)=\S*\s*)+$/.exec(name);
    if (glued) {
      reject(`settings must follow " | " (a space on each side of the bar): "${glued[0]}"`);
      return;
    }
    const problem = endpointNameProblem(name);
    if (problem) {
      reject(problem);
      return;
    }
    const options = bar === -1 ? {} : parseEndpointOptions(line.slice(bar + 3));
    if (typeof options === 'string') {
      reject(options);
      return;
    }
    const first = seen.get(name);
    if (first) {
      if (!sameOptions(first.options, options)) {
        reject(
          `"${name}" is already listed on line ${first.line} with other settings; that line is used`,
        );
      }
      return;
    }
    seen.set(name, { line: i + 1, options });
    entries.push({ name, options });
  });
  return { names: entries.map((e) => e.name), entries, rejected };
}

/** Reads and parses the file; rejects with the fs error when it cannot be read. */
export async function readEndpointList(path: string): Promise<EndpointList> {
  return parseEndpointList(await readFile(path, 'utf8'));
}
