// A small YAML writer for plain data (objects, arrays, strings, numbers, booleans, null), every string double-quoted.

/**
 * The `yaml` package is only a dev dependency; what the exports write is plain data, so a few
 * lines do. Every string is written as a JSON string, which is a valid YAML double-quoted
 * scalar with the same escapes, so no value can start a new key, document or comment, and
 * non-ASCII characters are escaped (`\uXXXX`) so the output is ASCII.
 */
export function toYaml(value: unknown, indent = 0): string {
  return `${emit(value, indent).replace(/^\n/, '')}\n`;
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(
      /[^\x20-\x7e]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  throw new TypeError(`cannot write a ${typeof value} as YAML`);
}

/** The value's YAML text; a collection starts with a newline (its entries on their own lines). */
function emit(value: unknown, indent: number): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []';
    return value
      .map((item) => {
        if (isObject(item) && Object.keys(item).length > 0) {
          // The first key on the dash's line, the others aligned under it.
          const body = emit(item, indent + 2).replace(/^\n {0,}/, '');
          return `\n${pad}- ${body}`;
        }
        return `\n${pad}-${emit(item, indent + 2)}`;
      })
      .join('');
  }
  if (isObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return ' {}';
    return entries.map(([k, v]) => `\n${pad}${key(k)}:${emit(v, indent + 2)}`).join('');
  }
  return ` ${scalar(value)}`;
}

/** Words YAML 1.1 readers take as booleans or null: such keys are quoted. */
const RESERVED = /^(y|n|yes|no|on|off|true|false|null|~)$/i;

/** A key bare when it is a plain identifier (`apiVersion`, `per_try_timeout`), else quoted. */
function key(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) && !RESERVED.test(k) ? k : scalar(k);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
