// PromQL text for the prometheus source: string escaping, selector checks, the window queries.

/** A Prometheus metric or label name (the classic charset; the source only writes such names). */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isMetricName(name: string): boolean {
  return NAME.test(name);
}

export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

/**
 * A PromQL double-quoted string literal holding exactly `value`. PromQL strings follow Go's
 * escapes; a raw newline inside quotes is a syntax error, so every control character is written
 * as an escape. Throws on a lone UTF-16 surrogate (no label value can hold one: Prometheus
 * stores UTF-8), so the caller can answer "no such series" instead of a query that breaks.
 */
export function quotePromString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw new RangeError('lone surrogate');
      out += value[i] + (value[i + 1] as string);
      i++;
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) throw new RangeError('lone surrogate');
    const ch = value[i] as string;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** One matcher of a label selector: `name op "value"` with any PromQL string quoting. */
const MATCHER =
  /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)\s*/y;

/**
 * Why a user's label selector (the inside of `{…}`, e.g. `job="api", env!="dev"`) is not a plain
 * list of matchers, or undefined when it is. Checked at start-up so that the selector can only
 * add matchers to the queries, never change their shape (no `}`, no second expression).
 */
export function selectorProblem(selector: string): string | undefined {
  const s = selector.trim();
  if (s === '') return undefined;
  let pos = 0;
  for (;;) {
    MATCHER.lastIndex = pos;
    const m = MATCHER.exec(s);
    if (!m)
      return `not a list of label matchers at character ${pos + 1}: ${s.slice(pos, pos + 20)}`;
    pos = MATCHER.lastIndex;
    if (pos === s.length) return undefined;
    if (s[pos] !== ',') return `expected "," at character ${pos + 1}`;
    pos++;
    if (pos === s.length) return undefined; // a trailing comma is allowed in PromQL
  }
}

/** The matchers of a selector joined to more matchers, without empty parts. */
export function joinMatchers(...parts: string[]): string {
  return parts
    .map((p) => p.trim().replace(/,$/, ''))
    .filter((p) => p !== '')
    .join(', ');
}

/** A PromQL range duration for `windowHours`, in whole milliseconds (at least 1 ms). */
export function promDuration(windowHours: number): string {
  return `${Math.max(1, Math.round(windowHours * 3_600_000))}ms`;
}

/** Matchers pinning each naming label to its value, quoted. */
export function labelMatchers(labels: readonly string[], values: readonly string[]): string {
  return labels.map((l, i) => `${l}=${quotePromString(values[i] ?? '')}`).join(', ');
}

/** `sum by (le) (increase(<metric>_bucket{…}[<window>]))`: the window's cumulative bucket counts. */
export function bucketQuery(metric: string, matchers: string, windowHours: number): string {
  return `sum by (le) (increase(${metric}_bucket{${matchers}}[${promDuration(windowHours)}]))`;
}

/** `sum(increase(<metric>_sum{…}[<window>]))`: the window's sum of observations (the mean). */
export function sumQuery(metric: string, matchers: string, windowHours: number): string {
  return `sum(increase(${metric}_sum{${matchers}}[${promDuration(windowHours)}]))`;
}

/**
 * The label values an endpoint name stands for: with one naming label the whole name; with n,
 * the first n − 1 space-separated words and the rest of the name for the last label (so only
 * the last label, e.g. a route, may contain spaces). Undefined when the name has too few words.
 */
export function splitEndpointName(name: string, labels: number): string[] | undefined {
  if (labels <= 1) return [name];
  const parts: string[] = [];
  let rest = name;
  for (let i = 0; i < labels - 1; i++) {
    const sp = rest.indexOf(' ');
    if (sp === -1) return undefined;
    parts.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1);
  }
  parts.push(rest);
  return parts;
}

/**
 * The endpoint name of a set of label values (joined by a space, e.g. "GET /api/orders"), or
 * undefined when they cannot make one that splitEndpointName reads back: an empty value, or a
 * space in any value but the last.
 */
export function joinEndpointName(values: readonly string[]): string | undefined {
  if (values.some((v) => v === '')) return undefined;
  if (values.slice(0, -1).some((v) => v.includes(' '))) return undefined;
  return values.join(' ');
}
