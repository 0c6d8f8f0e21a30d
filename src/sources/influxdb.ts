// Source `influxdb`: InfluxQL over HTTP (/query) to InfluxDB 1.x, or 2.x/3.x via their v1 API + token.
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { quoteIdentifier } from './influxql.ts';
import { describeRequestError, httpRequest, type HttpResponse } from '../core/http-client.ts';
import {
  SourceDatabaseNotFoundError,
  SourceQueryError,
  SourceUnavailableError,
} from '../core/errors.ts';
import {
  discoverInflux,
  inspectInflux,
  type InfluxQuery,
  type InfluxResponse,
} from './influx-inspect.ts';
import {
  attributeMatches,
  buildDurationQuery,
  INFLUX_SCHEMAS,
  resolveInfluxLayout,
  splitServiceName,
} from './influx-schema.ts';
import type { FetchOptions, LatencySource, LatencyWindow } from './types.ts';

export const influxOptionsSchema = z
  .object({
    /** Base URL of InfluxDB's HTTP API. Default http://127.0.0.1:8086. */
    url: z.url().default('http://127.0.0.1:8086'),
    /** Database (1.x) or bucket mapped by DBRP (2.x/3.x). Default "tracing". */
    database: z.string().min(1).default('tracing'),
    /**
     * Which writer's schema the spans are in: `jaeger` (Jaeger's InfluxDB plugin, the original's),
     * `otel` (otel2influx: the Collector's InfluxDB exporter, Telegraf's OpenTelemetry input) or
     * `otel-2022` (otel2influx before 2022-10). Sets the defaults of the options below. Default jaeger.
     */
    schema: z.enum(INFLUX_SCHEMAS).default('jaeger'),
    /** Measurement holding spans. Default by schema: "span" (jaeger), "spans" (otel). */
    measurement: z.string().min(1).optional(),
    /** Field with the span duration. Default by schema: "duration" (jaeger), "duration_nano" (otel). */
    field: z.string().min(1).optional(),
    /** jaeger: tag matched against the endpoint name. Default "http.url". */
    tag: z.string().min(1).optional(),
    /** jaeger: type prefix of tag values, added for exact matches and dropped from discovered names. Default "s:". */
    tagPrefix: z.string().optional(),
    /** Unit of the duration field. Default "ns" (Jaeger/OpenTelemetry). */
    durationUnit: z.enum(['ns', 'us', 'ms', 's']).optional(),
    /** jaeger: `contains`: the tag contains the name (the original's regex, escaped); `exact`: equals it. Default contains. */
    matchMode: z.enum(['contains', 'exact']).optional(),
    /** otel: endpoint names `<service> <span name>` (span) or `<service> <http.route>` (route). Default span. */
    naming: z.enum(['span', 'route']).optional(),
    /** otel: the tag naming the service. Default "service.name". */
    serviceKey: z.string().min(1).optional(),
    /** otel: the key naming the endpoint within its service. Default "span.name" (naming span), "http.route" (route). */
    nameKey: z.string().min(1).optional(),
    /** otel: the JSON string field packing the attributes the route is read from. Default "attributes" (otel, naming route), none (otel-2022). */
    attributesField: z.string().optional(),
    /** InfluxDB 1.x user. Default "root" (the original's). */
    username: z.string().default('root'),
    /** InfluxDB 1.x password. Default "root" (the original's). */
    password: z.string().default('root'),
    /** API token for 2.x/3.x (sent as `Authorization: Token …`); replaces user/password. Default none. */
    token: z.string().optional(),
    /** Per-query timeout. Default 10000 (ms). */
    requestTimeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

export type InfluxOptions = z.infer<typeof influxOptionsSchema>;

export { buildDurationQuery, windowStart } from './influx-schema.ts';

const UNIT_TO_MS = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3 } as const;

/** Points per chunk of a window query's answer (~31 KB of JSON each). */
const CHUNK_POINTS = 1000;

export function createInfluxSource(options: Partial<InfluxOptions> = {}): LatencySource {
  const opts = parseConfig(influxOptionsSchema, options);
  const layout = resolveInfluxLayout(opts);
  const base = opts.url.replace(/\/+$/, '');
  const label = `influxdb(${base})`;

  /**
   * Runs one InfluxQL query; answers its JSON documents (one, or one per chunk when `chunked`).
   * A window of 5000 points is ~154 KB of JSON: asked in chunks of CHUNK_POINTS, it arrives as
   * ~31 KB documents, each decoded and parsed on its own (see `HttpResponse.lines`). Servers
   * that do not chunk answer one document, which reads the same way.
   */
  const query: InfluxQuery = async (q, db, chunked = false) => {
    const params = new URLSearchParams({ q, epoch: 'ns' });
    if (db) params.set('db', db);
    if (chunked) {
      params.set('chunked', 'true');
      params.set('chunk_size', String(CHUNK_POINTS));
    }
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (opts.token) headers.authorization = `Token ${opts.token}`;
    else if (opts.username) {
      params.set('u', opts.username);
      params.set('p', opts.password);
    }
    let res: HttpResponse;
    try {
      // The time-out also covers reading the body: a server that froze mid-answer is unreachable.
      res = await httpRequest(`${base}/query`, {
        method: 'POST',
        headers,
        body: params.toString(),
        timeoutMs: opts.requestTimeoutMs,
      });
    } catch (err) {
      throw new SourceUnavailableError(label, describeRequestError(err));
    }
    const lines = res.lines();
    const docs: InfluxResponse[] = [];
    for (const line of lines) {
      try {
        docs.push(JSON.parse(line) as InfluxResponse);
      } catch {
        throw new SourceQueryError(label, `HTTP ${res.status}: ${res.text.slice(0, 200)}`);
      }
    }
    const error = docs
      .map((body) => body.error ?? body.results?.find((r) => r.error)?.error ?? body.message)
      .find((e) => e !== undefined);
    if (res.status < 200 || res.status > 299 || error || docs.length === 0)
      throw new SourceQueryError(label, error ?? `HTTP ${res.status}`);
    // Anything else that is not InfluxDB's answer (a proxy's JSON, junk) is not an empty window.
    if (docs.some((d) => typeof d !== 'object' || d === null || !Array.isArray(d.results)))
      throw new SourceQueryError(
        label,
        `HTTP ${res.status}: not an InfluxDB answer: ${res.text.slice(0, 200)}`,
      );
    return docs;
  };

  async function fetchWindow(endpoint: string, fetchOpts: FetchOptions): Promise<LatencyWindow> {
    const q = buildDurationQuery(endpoint, layout, fetchOpts);
    if (q === undefined) return { durationsMs: [], timestampsMs: [] };
    const docs = await query(q, opts.database, true);
    const factor = UNIT_TO_MS[layout.durationUnit];
    const durationsMs: number[] = [];
    const timestampsMs: number[] = [];
    const attrs =
      layout.kind === 'service' && layout.attributesField !== undefined
        ? {
            field: layout.attributesField,
            key: layout.nameKey,
            value: splitServiceName(endpoint)?.name ?? '',
          }
        : undefined;
    // Chunks continue the same series in order (newest first, as queried).
    for (const series of docs.flatMap((body) => body.results?.[0]?.series ?? [])) {
      const col = series.columns.indexOf(layout.field);
      const timeCol = series.columns.indexOf('time');
      const attrCol = attrs ? series.columns.indexOf(attrs.field) : -1;
      for (const row of series.values) {
        const v = row[col === -1 ? 1 : col];
        const t = row[timeCol === -1 ? 0 : timeCol];
        if (attrs && !attributeMatches(row[attrCol], attrs.key, attrs.value)) continue;
        if (typeof v === 'number' && Number.isFinite(v)) {
          durationsMs.push(v * factor);
          // epoch=ns: nanoseconds beyond 2^53 lose a little precision, far below a millisecond.
          timestampsMs.push(typeof t === 'number' ? t / 1e6 : Number.NaN);
        }
      }
    }
    // Queried newest first (so LIMIT keeps the most recent); strategies want oldest first.
    durationsMs.reverse();
    timestampsMs.reverse();
    return {
      durationsMs,
      timestampsMs: timestampsMs.every(Number.isFinite) ? timestampsMs : undefined,
    };
  }

  /** The databases InfluxDB lists to these credentials. */
  async function databases(): Promise<string[]> {
    const docs = await query('SHOW DATABASES');
    return docs
      .flatMap((body) => body.results?.[0]?.series ?? [])
      .flatMap((series) => (series.values as unknown[][] | undefined) ?? [])
      .map((row) => String(row[0]));
  }

  return {
    name: 'influxdb',
    fetchWindow,
    /**
     * Ready when InfluxDB answers with these credentials (user/password, or the token of the
     * 2.x/3.x v1 API) and lists the configured database. A query on a missing database is not
     * an error in InfluxDB 1.x (it answers no series), so without this a worker on
     * `--influx-db nope` computed from empty windows forever.
     */
    async check(): Promise<void> {
      const names = await databases();
      if (!names.includes(opts.database))
        throw new SourceDatabaseNotFoundError(label, opts.database, names);
      // One point of the measurement: a server that lists databases but answers the window
      // queries with something else (a proxy's page, junk) is not ready either.
      const field = quoteIdentifier(layout.field);
      await query(
        `SELECT ${field} FROM ${quoteIdentifier(layout.measurement)} ORDER BY time DESC LIMIT 1`,
        opts.database,
      );
    },
    inspect: (endpoints, fetchOpts) =>
      inspectInflux(
        { query, database: opts.database, layout, databases, fetchWindow },
        endpoints,
        fetchOpts,
      ),
    discover: (fetchOpts) => discoverInflux({ query, database: opts.database, layout }, fetchOpts),
  };
}
