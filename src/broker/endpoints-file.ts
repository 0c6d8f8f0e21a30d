// Reads the endpoint list: one name per line, optional settings after " | "; `#` comments ignored.
import { readFile } from 'node:fs/promises';
import { endpointNameProblem } from '../core/endpoint-name.ts';
import type { EndpointEntry, EndpointOptions } from '../store/types.ts';

export interface EndpointList {
  names: string[];
  entries: EndpointEntry[];
  /** Lines that were not valid, with the reason (logged by the caller). */
  rejected: { line: number; text: string; reason: string }[];
}

const NUMERIC = { alpha: [0, 1], minMs: [0, Infinity], maxMs: [0, Infinity] } as const;

/**
 * Settings after the last " | " of a line: `alpha=0.01 strategy=quantile minMs=50 maxMs=5000`.
 * (" | " because endpoint names may hold spaces, braces and brackets, but no bare pipe.)
 */
export function parseEndpointOptions(text: string): EndpointOptions | string {
  const options: EndpointOptions = {};
  for (const pair of text.trim().split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    const value = eq === -1 ? '' : pair.slice(eq + 1);
    if (key === 'strategy') {
      if (!/^[\w-]{1,64}$/.test(value)) return `strategy "${value}" is not a strategy name`;
      options.strategy = value;
    } else if (key === 'alpha' || key === 'minMs' || key === 'maxMs') {
      const n = Number(value);
      const [lo, hi] = NUMERIC[key];
      const ok = value !== '' && Number.isFinite(n) && n > lo && (key === 'alpha' ? n < hi : true);
      if (!ok && !(key === 'minMs' && n === 0)) return `${key}=${value} is out of range`;
      options[key] = n;
    } else return `unknown setting "${key}" (known: alpha, strategy, minMs, maxMs)`;
  }
  if (options.minMs !== undefined && options.maxMs !== undefined && options.minMs > options.maxMs) {
    return 'minMs must not exceed maxMs';
  }
  return options;
}

export function parseEndpointList(text: string): EndpointList {
  const entries: EndpointEntry[] = [];
  const seen = new Set<string>();
  const rejected: EndpointList['rejected'] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const bar = line.lastIndexOf(' | ');
    const name = (bar === -1 ? line : line.slice(0, bar)).trim();
    const problem = endpointNameProblem(name);
    if (problem) {
      rejected.push({ line: i + 1, text: line.slice(0, 80), reason: problem });
      return;
    }
    const options = bar === -1 ? {} : parseEndpointOptions(line.slice(bar + 3));
    if (typeof options === 'string') {
      rejected.push({ line: i + 1, text: line.slice(0, 80), reason: options });
      return;
    }
    if (!seen.has(name)) {
      seen.add(name);
      entries.push({ name, options });
    }
  });
  return { names: entries.map((e) => e.name), entries, rejected };
}

/** Reads and parses the file; rejects with the fs error when it cannot be read. */
export async function readEndpointList(path: string): Promise<EndpointList> {
  return parseEndpointList(await readFile(path, 'utf8'));
}
