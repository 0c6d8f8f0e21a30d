// The InfluxDB source's look at its data: what `jit source check` reports, and the endpoints discovery finds.
import { endpointNameProblem } from '../core/endpoint-name.ts';
import { quoteIdentifier, regexLiteral } from './influxql.ts';
import {
  buildDurationQuery,
  jsonMemberRegex,
  nameFromTagValue,
  splitServiceName,
  windowStart,
  type InfluxLayout,
} from './influx-schema.ts';
import type { FetchOptions, LatencyWindow, SourceInspection } from './types.ts';

/** One JSON document of InfluxDB's `/query` answer. */
export interface InfluxResponse {
  error?: string;
  /** How InfluxDB 2.x/3.x word an error of their v1 API (`{"code": …, "message": …}`). */
  message?: string;
  results?: {
    error?: string;
    series?: {
      name?: string;
      columns: string[];
      tags?: Record<string, string>;
      values: [number, number | null][];
    }[];
  }[];
}

/** Runs one InfluxQL statement (on `db` when given); throws the source's errors. */
export type InfluxQuery = (q: string, db?: string, chunked?: boolean) => Promise<InfluxResponse[]>;

interface DiscoverDeps {
  query: InfluxQuery;
  database: string;
  layout: InfluxLayout;
}

interface InspectDeps extends DiscoverDeps {
  databases(): Promise<string[]>;
  fetchWindow(endpoint: string, options: FetchOptions): Promise<LatencyWindow>;
}

/** Most discovered endpoints `inspect` looks at when none are named. */
const INSPECT_DISCOVERED = 100;
/** Most recent spans per service whose attributes discovery reads (otel, naming route). */
const DISCOVER_ROWS_PER_SERVICE = 10_000;

const rowsOf = (docs: InfluxResponse[]) =>
  docs.flatMap((d) => d.results?.[0]?.series ?? []).flatMap((s) => s.values as unknown[][]);
const list = (names: Iterable<string>) => {
  const all = [...names];
  return all.length === 0
    ? 'none'
    : all.slice(0, 20).join(', ') + (all.length > 20 ? `, … (${all.length})` : '');
};

async function tagKeys(deps: DiscoverDeps): Promise<Set<string>> {
  const q = `SHOW TAG KEYS FROM ${quoteIdentifier(deps.layout.measurement)}`;
  return new Set(rowsOf(await deps.query(q, deps.database)).map((r) => String(r[0])));
}

/** Field keys of the measurement with their types (float, integer, string, boolean). */
async function fieldKeys(deps: DiscoverDeps): Promise<Map<string, string>> {
  const q = `SHOW FIELD KEYS FROM ${quoteIdentifier(deps.layout.measurement)}`;
  return new Map(
    rowsOf(await deps.query(q, deps.database)).map((r) => [String(r[0]), String(r[1])]),
  );
}

/** What is missing of the layout in the database, or nothing. */
async function schemaProblems(deps: InspectDeps): Promise<string[]> {
  const { layout, database } = deps;
  const dbs = await deps.databases();
  if (!dbs.includes(database))
    return [
      `no database ${JSON.stringify(database)} (InfluxDB lists: ${list(dbs)}); set --influx-db`,
    ];
  const measurements = rowsOf(await deps.query('SHOW MEASUREMENTS', database)).map((r) =>
    String(r[0]),
  );
  const m = JSON.stringify(layout.measurement);
  if (!measurements.includes(layout.measurement))
    return [
      `no measurement ${m} in database ${JSON.stringify(database)} (it has: ${list(measurements)}); set --influx-measurement or --influx-schema`,
    ];
  const [fields, tags] = await Promise.all([fieldKeys(deps), tagKeys(deps)]);
  const problems: string[] = [];
  const kinds = (key: string) =>
    tags.has(key) ? ' (it is a tag)' : fields.has(key) ? ` (it is a ${fields.get(key)} field)` : '';
  const type = fields.get(layout.field);
  if (type === undefined)
    problems.push(
      `no field ${JSON.stringify(layout.field)} in measurement ${m}${kinds(layout.field)} (its fields: ${list(fields.keys())}); set --influx-field`,
    );
  else if (type !== 'integer' && type !== 'float')
    problems.push(
      `field ${JSON.stringify(layout.field)} in measurement ${m} holds ${type}s, not numbers; set --influx-field`,
    );
  if (layout.kind === 'tag') {
    if (!tags.has(layout.tag))
      problems.push(
        `no tag ${JSON.stringify(layout.tag)} in measurement ${m}${kinds(layout.tag)} (its tags: ${list(tags)}); set --influx-tag`,
      );
    return problems;
  }
  if (!tags.has(layout.serviceKey))
    problems.push(
      `no tag ${JSON.stringify(layout.serviceKey)} in measurement ${m}${kinds(layout.serviceKey)} (its tags: ${list(tags)}); set --influx-service-key`,
    );
  if (layout.attributesField !== undefined) {
    if (fields.get(layout.attributesField) !== 'string')
      problems.push(
        `no string field ${JSON.stringify(layout.attributesField)} in measurement ${m}${kinds(layout.attributesField)} (its fields: ${list(fields.keys())}); set --influx-attributes-field`,
      );
  } else if (!tags.has(layout.nameKey) && !fields.has(layout.nameKey)) {
    problems.push(
      `no tag or field ${JSON.stringify(layout.nameKey)} in measurement ${m} (its tags: ${list(tags)}; its fields: ${list(fields.keys())}); set --influx-name-key`,
    );
  }
  return problems;
}

export async function inspectInflux(
  deps: InspectDeps,
  named: readonly string[],
  options: FetchOptions,
): Promise<SourceInspection> {
  const queries = (endpoints: readonly string[]) =>
    endpoints.flatMap((e) => buildDurationQuery(e, deps.layout, options) ?? []);
  const problems = await schemaProblems(deps);
  if (problems.length > 0) return { queries: queries(named), samples: [], problems };
  let endpoints = named;
  if (endpoints.length === 0) {
    endpoints = (await discoverInflux(deps, options)).slice(0, INSPECT_DISCOVERED);
    if (endpoints.length === 0)
      problems.push(
        `no spans with an endpoint name in measurement ${JSON.stringify(deps.layout.measurement)} in the last ${options.windowHours} h`,
      );
  }
  const samples: SourceInspection['samples'] = [];
  for (const endpoint of endpoints) {
    if (buildDurationQuery(endpoint, deps.layout, options) === undefined) {
      problems.push(
        `endpoint ${JSON.stringify(endpoint)} is not "<service> <name>" (schema ${deps.layout.schema})`,
      );
      continue;
    }
    const count = (await deps.fetchWindow(endpoint, options)).durationsMs.length;
    samples.push({ endpoint, count });
    if (count === 0)
      problems.push(
        `no spans for endpoint ${JSON.stringify(endpoint)} in the last ${options.windowHours} h`,
      );
  }
  return { queries: queries(endpoints), samples, problems };
}

/** Names that can be endpoint names and read back by `fetchWindow`; sorted, without repeats. */
function usable(names: Iterable<string>, service: boolean): string[] {
  return [...new Set(names)]
    .filter((n) => endpointNameProblem(n) === undefined)
    .filter((n) => !service || splitServiceName(n) !== undefined)
    .sort();
}

/**
 * The endpoint names in the window's spans, built as `fetchWindow` reads them back: the tag's
 * values without their type prefix (jaeger), or `<service> <name>` (otel).
 */
export async function discoverInflux(deps: DiscoverDeps, options: FetchOptions): Promise<string[]> {
  const { layout, database, query } = deps;
  const from = `FROM ${quoteIdentifier(layout.measurement)} WHERE time >= ${windowStart(options)}`;
  const count = `SELECT COUNT(${quoteIdentifier(layout.field)}) ${from}`;
  const series = (docs: InfluxResponse[]) => docs.flatMap((d) => d.results?.[0]?.series ?? []);
  if (layout.kind === 'tag') {
    const docs = await query(`${count} GROUP BY ${quoteIdentifier(layout.tag)}`, database);
    return usable(
      series(docs).map((s) => nameFromTagValue(layout, s.tags?.[layout.tag] ?? '')),
      false,
    );
  }
  const svc = quoteIdentifier(layout.serviceKey);
  const names: string[] = [];
  if (layout.attributesField !== undefined) {
    // InfluxQL cannot read inside the JSON: the recent rows that have the key, parsed here.
    const attrs = quoteIdentifier(layout.attributesField);
    const has = regexLiteral(jsonMemberRegex(layout.nameKey, undefined));
    const q = `SELECT ${attrs} ${from} AND ${attrs} =~ ${has} GROUP BY ${svc} ORDER BY time DESC LIMIT ${DISCOVER_ROWS_PER_SERVICE}`;
    for (const s of series(await query(q, database))) {
      const service = s.tags?.[layout.serviceKey] ?? '';
      for (const row of s.values as unknown[][]) {
        try {
          const value = (JSON.parse(String(row[1])) as Record<string, unknown>)[layout.nameKey];
          if (typeof value === 'string') names.push(`${service} ${value}`);
        } catch {
          // not JSON: not a name
        }
      }
    }
    return usable(names, true);
  }
  const name = quoteIdentifier(layout.nameKey);
  if ((await tagKeys(deps)).has(layout.nameKey)) {
    const docs = await query(`${count} GROUP BY ${svc}, ${name}`, database);
    for (const s of series(docs))
      names.push(`${s.tags?.[layout.serviceKey] ?? ''} ${s.tags?.[layout.nameKey] ?? ''}`);
  } else {
    const docs = await query(`SELECT DISTINCT(${name}) ${from} GROUP BY ${svc}`, database);
    for (const s of series(docs))
      for (const row of s.values as unknown[][])
        if (typeof row[1] === 'string')
          names.push(`${s.tags?.[layout.serviceKey] ?? ''} ${row[1]}`);
  }
  return usable(names, true);
}
