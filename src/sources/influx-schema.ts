// InfluxDB schema presets (jaeger, otel, otel-2022): where spans are, how an endpoint name selects them.
import { InvalidConfigError } from '../core/errors.ts';
import type { FetchOptions } from './types.ts';
import {
  quoteIdentifier,
  quoteRegexLiteral,
  quoteString,
  regexLiteral,
  regexQuoteMeta,
} from './influxql.ts';

/** The schemas `--influx-schema` names. */
export const INFLUX_SCHEMAS = ['jaeger', 'otel', 'otel-2022'] as const;
export type InfluxSchemaName = (typeof INFLUX_SCHEMAS)[number];

/** What the options may override of a preset (undefined: the preset's). */
export interface InfluxLayoutOverrides {
  schema: InfluxSchemaName;
  measurement?: string | undefined;
  field?: string | undefined;
  tag?: string | undefined;
  tagPrefix?: string | undefined;
  durationUnit?: 'ns' | 'us' | 'ms' | 's' | undefined;
  matchMode?: 'contains' | 'exact' | undefined;
  naming?: 'span' | 'route' | undefined;
  serviceKey?: string | undefined;
  nameKey?: string | undefined;
  attributesField?: string | undefined;
}

/**
 * Where a schema keeps spans and how an endpoint name selects them.
 * - `tag` (jaeger): one tag is the endpoint (`contains` or `exact`; values may carry a type
 *   prefix such as Jaeger's `s:`, which an exact match adds).
 * - `service` (otel, otel-2022): the name is `<service> <name>`: the service tag and a second key
 *   (`span.name`, or `http.route` with naming `route`) that is a tag, a field, or (with
 *   `attributesField`) a key inside the JSON string field that packs the other attributes.
 */
export type InfluxLayout = {
  schema: InfluxSchemaName;
  measurement: string;
  field: string;
  durationUnit: 'ns' | 'us' | 'ms' | 's';
} & (
  | { kind: 'tag'; tag: string; tagPrefix: string; matchMode: 'contains' | 'exact' }
  | {
      kind: 'service';
      naming: 'span' | 'route';
      serviceKey: string;
      nameKey: string;
      /** The JSON field holding `nameKey`; undefined: `nameKey` is a tag or field of its own. */
      attributesField: string | undefined;
    }
);

/** The preset with the options' overrides; the problems of a combination that cannot work. */
export function resolveInfluxLayout(o: InfluxLayoutOverrides): InfluxLayout {
  const otel = o.schema !== 'jaeger';
  const common = {
    schema: o.schema,
    measurement: o.measurement ?? (otel ? 'spans' : 'span'),
    field: o.field ?? (otel ? 'duration_nano' : 'duration'),
    durationUnit: o.durationUnit ?? 'ns',
  };
  if (!otel) {
    const problems: string[] = [];
    for (const key of ['naming', 'serviceKey', 'nameKey', 'attributesField'] as const) {
      if (o[key] !== undefined)
        problems.push(`${key}: applies to the otel schemas only (schema is jaeger)`);
    }
    if (problems.length > 0) throw new InvalidConfigError(problems);
    return {
      ...common,
      kind: 'tag',
      tag: o.tag ?? 'http.url',
      // Jaeger's InfluxDB plugin writes every tag value with its type: `s:` for strings.
      tagPrefix: o.tagPrefix ?? 's:',
      matchMode: o.matchMode ?? 'contains',
    };
  }
  const problems: string[] = [];
  for (const key of ['tag', 'tagPrefix', 'matchMode'] as const) {
    if (o[key] !== undefined)
      problems.push(
        `${key}: applies to the jaeger schema only (otel names are "<service> <name>", matched exactly)`,
      );
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);
  const naming = o.naming ?? 'span';
  return {
    ...common,
    kind: 'service',
    naming,
    serviceKey: o.serviceKey ?? 'service.name',
    nameKey: o.nameKey ?? (naming === 'span' ? 'span.name' : 'http.route'),
    // Current otel2influx packs the attributes (http.route among them) into one JSON field; the
    // span name is never in it. Before 2022-10 every attribute was a field of its own.
    attributesField:
      naming === 'route' && o.schema === 'otel'
        ? o.attributesField || 'attributes'
        : o.attributesField || undefined,
  };
}

/** `<service> <name>` split at the first space; undefined when the name has none. */
export function splitServiceName(endpoint: string): { service: string; name: string } | undefined {
  const at = endpoint.indexOf(' ');
  if (at <= 0 || at === endpoint.length - 1) return undefined;
  return { service: endpoint.slice(0, at), name: endpoint.slice(at + 1) };
}

/**
 * RE2 source matching `"key":"value"` as Go's encoding/json writes it inside a JSON object
 * (otel2influx marshals the attributes map with it): `"` and `\` backslash-escaped, and `<`, `>`,
 * `&`, U+2028, U+2029 as `\u…` (its HTML-safe default), accepted in either form in case a writer
 * did not escape them. `[{,]` before the key: inside a JSON string a quote is always escaped, so
 * only a real key starts there.
 */
export function jsonMemberRegex(key: string, value: string | undefined): string {
  const encode = (s: string) =>
    [...s]
      .map((c) => {
        const cp = c.codePointAt(0) ?? 0;
        if (c === '"' || c === '\\') return regexQuoteMeta(`\\${c}`);
        if (c === '<' || c === '>' || c === '&' || cp === 0x2028 || cp === 0x2029)
          return `(?:${regexQuoteMeta(c)}|\\x5cu${cp.toString(16).padStart(4, '0')})`;
        return regexQuoteMeta(c);
      })
      .join('');
  return `[{,]"${encode(key)}":"${value === undefined ? '' : `${encode(value)}"`}`;
}

/** The InfluxQL condition selecting one endpoint's spans; undefined when the name cannot match. */
export function endpointCondition(layout: InfluxLayout, endpoint: string): string | undefined {
  if (layout.kind === 'tag') {
    const tag = quoteIdentifier(layout.tag);
    if (layout.matchMode === 'contains') return `${tag} =~ ${quoteRegexLiteral(endpoint)}`;
    if (layout.tagPrefix === '') return `${tag} = ${quoteString(endpoint)}`;
    // Values written with the type prefix, or without it (other writers of the same schema).
    return `(${tag} = ${quoteString(layout.tagPrefix + endpoint)} OR ${tag} = ${quoteString(endpoint)})`;
  }
  const parts = splitServiceName(endpoint);
  if (parts === undefined) return undefined;
  const service = `${quoteIdentifier(layout.serviceKey)} = ${quoteString(parts.service)}`;
  if (layout.attributesField === undefined)
    return `${service} AND ${quoteIdentifier(layout.nameKey)} = ${quoteString(parts.name)}`;
  // InfluxQL cannot look inside a JSON string: a regex on it narrows the rows, and the rows are
  // checked again once parsed (see `attributeMatches`).
  const re = regexLiteral(jsonMemberRegex(layout.nameKey, parts.name));
  return `${service} AND ${quoteIdentifier(layout.attributesField)} =~ ${re}`;
}

/** Whether a row's attributes JSON holds `nameKey` = the endpoint's name (layouts with attributesField). */
export function attributeMatches(json: unknown, key: string, value: string): boolean {
  if (typeof json !== 'string') return false;
  try {
    const parsed: unknown = JSON.parse(json);
    return (
      typeof parsed === 'object' &&
      parsed !== null &&
      (parsed as Record<string, unknown>)[key] === value
    );
  } catch {
    return false;
  }
}

/** The name an endpoint has for a tag value: the value without the type prefix. */
export function nameFromTagValue(layout: InfluxLayout & { kind: 'tag' }, value: string): string {
  return layout.tagPrefix !== '' && value.startsWith(layout.tagPrefix)
    ? value.slice(layout.tagPrefix.length)
    : value;
}

/** `now() - <window>ms`, the window's start in InfluxQL. */
export function windowStart(fetch: FetchOptions): string {
  return `now() - ${Math.max(1, Math.round(fetch.windowHours * 3_600_000))}ms`;
}

/**
 * The InfluxQL for one endpoint's window; every identifier and the name are quoted. Undefined
 * when the name cannot name spans of this layout (otel: a name without `<service> `).
 */
export function buildDurationQuery(
  endpoint: string,
  layout: InfluxLayout,
  fetch: FetchOptions,
): string | undefined {
  const match = endpointCondition(layout, endpoint);
  if (match === undefined) return undefined;
  const columns = [layout.field];
  if (layout.kind === 'service' && layout.attributesField !== undefined)
    columns.push(layout.attributesField);
  return (
    `SELECT ${columns.map(quoteIdentifier).join(', ')} FROM ${quoteIdentifier(layout.measurement)} ` +
    `WHERE time >= ${windowStart(fetch)} AND ${match} ` +
    `ORDER BY time DESC LIMIT ${Math.max(1, Math.floor(fetch.limit))}`
  );
}
