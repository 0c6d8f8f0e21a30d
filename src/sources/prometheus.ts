// Source `prometheus`: an endpoint's latency histogram (bucket counts over the window) via the HTTP API.
import { z } from 'zod';
import { httpUrl, parseConfig } from '../core/config.ts';
import { InvalidConfigError, SourceMetricNotFoundError, SourceQueryError } from '../core/errors.ts';
import { inspectPrometheus, discoverPrometheus } from './prometheus-inspect.ts';
import { createPromApi, type PromApi, type VectorSample } from './prometheus-api.ts';
import {
  bucketQuery,
  isLabelName,
  isMetricName,
  joinMatchers,
  labelMatchers,
  selectorProblem,
  splitEndpointName,
  sumQuery,
} from './promql.ts';
import type { FetchOptions, LatencyHistogram, LatencySource, LatencyWindow } from './types.ts';

export const prometheusOptionsSchema = z
  .object({
    /** Base URL of Prometheus's HTTP API (or a compatible one: Thanos, Mimir, VictoriaMetrics). Default http://127.0.0.1:9090. */
    url: httpUrl().default('http://127.0.0.1:9090'),
    /**
     * The histogram's base name; the source reads `<metric>_bucket` and `<metric>_sum`.
     * Default "http_server_request_duration_seconds" (OpenTelemetry's http.server.request.duration).
     */
    metric: z
      .string()
      .refine(isMetricName, 'not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)')
      .default('http_server_request_duration_seconds'),
    /** Label matchers every query adds, e.g. `job="api", env!="dev"`. Default none. */
    selector: z
      .string()
      .superRefine((s, ctx) => {
        const problem = selectorProblem(s);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default(''),
    /**
     * Labels whose values, joined by a space, name an endpoint (e.g. "GET /api/orders"); only
     * the last may contain spaces. Default http_request_method, http_route (OpenTelemetry).
     */
    endpointLabels: z
      .array(z.string().refine(isLabelName, 'not a label name ([a-zA-Z_][a-zA-Z0-9_]*)'))
      .min(1)
      .default(['http_request_method', 'http_route']),
    /**
     * Unit of the histogram's values and bounds: `s` or `ms`. Default: from the metric name
     * (`…_seconds` → s, `…_milliseconds` or `…_ms` → ms); required for other names.
     */
    unit: z.enum(['s', 'ms']).optional(),
    /** Sent as `Authorization: Bearer …`. Default none. */
    bearerToken: z.string().min(1).optional(),
    /** Per-request timeout. Default 10000 (ms). */
    requestTimeoutMs: z.number().int().positive().default(10_000),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.unit === undefined && unitFromName(o.metric) === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['unit'],
        message: `cannot tell the unit of "${o.metric}" from its name: give s or ms`,
      });
  });

export type PrometheusOptions = z.infer<typeof prometheusOptionsSchema>;

/** The unit a metric's name declares (Prometheus naming: the base unit as a suffix). */
export function unitFromName(metric: string): 's' | 'ms' | undefined {
  if (/_seconds$/.test(metric)) return 's';
  if (/_(milliseconds|ms)$/.test(metric)) return 'ms';
  return undefined;
}

export interface PrometheusSourceDeps {
  /** Evaluation time of the queries (epoch ms). Default Date.now (tests pin it to a scrape). */
  now?: () => number;
}

/** The resolved settings the queries are built from (shared with prometheus-inspect.ts). */
export interface PrometheusSettings extends PrometheusOptions {
  unit: 's' | 'ms';
  /** ms per unit of the histogram: 1000 for seconds. */
  factor: number;
  label: string;
  now: () => number;
}

/** The matchers that select one endpoint's series, or undefined when no series can be it. */
export function endpointMatchers(s: PrometheusSettings, endpoint: string): string | undefined {
  const values = splitEndpointName(endpoint, s.endpointLabels.length);
  if (!values) return undefined;
  try {
    return joinMatchers(s.selector, labelMatchers(s.endpointLabels, values));
  } catch {
    return undefined; // a lone surrogate: no label value can be it
  }
}

/** Both queries of one endpoint's window, as sent; undefined when no series can be it. */
export function windowQueries(
  s: PrometheusSettings,
  endpoint: string,
  windowHours: number,
): { buckets: string; sum: string } | undefined {
  const matchers = endpointMatchers(s, endpoint);
  if (matchers === undefined) return undefined;
  return {
    buckets: bucketQuery(s.metric, matchers, windowHours),
    sum: sumQuery(s.metric, matchers, windowHours),
  };
}

/**
 * Per-bucket counts from `sum by (le)` of cumulative bucket increases. Bounds are merged by
 * value (a target on Prometheus 3 may write le="1.0" where another wrote "1"); cumulative counts
 * that dip (each bucket series is extrapolated on its own) are held level, as histogram_quantile
 * does. Undefined when the window holds no observation.
 */
export function histogramFromBuckets(
  samples: readonly VectorSample[],
  factor: number,
  label: string,
  metric: string,
): LatencyHistogram | undefined {
  if (samples.length === 0) return undefined;
  const cumulative = new Map<number, number>();
  for (const s of samples) {
    const le = s.metric.le;
    const bound = le === '+Inf' ? Infinity : le === undefined || le === '' ? NaN : Number(le);
    if (Number.isNaN(bound))
      throw new SourceQueryError(label, `${metric}_bucket has a series with le=${String(le)}`);
    if (!Number.isFinite(s.value) || s.value < 0)
      throw new SourceQueryError(label, `${metric}_bucket le=${le} counted ${s.value}`);
    cumulative.set(bound, (cumulative.get(bound) ?? 0) + s.value);
  }
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  if (bounds.at(-1) !== Infinity)
    throw new SourceQueryError(label, `${metric}_bucket has no le="+Inf" bucket`);
  const boundsMs: number[] = [];
  const counts: number[] = [];
  let previous = 0;
  for (const b of bounds) {
    const c = Math.max(previous, cumulative.get(b) as number);
    counts.push(c - previous);
    previous = c;
    if (b !== Infinity) boundsMs.push(b * factor);
  }
  if (!(previous > 0)) return undefined;
  return { boundsMs, counts };
}

export function createPrometheusSource(
  options: Record<string, unknown> = {},
  deps: PrometheusSourceDeps = {},
): LatencySource {
  const opts = parseConfig(prometheusOptionsSchema, options);
  const base = opts.url.replace(/\/+$/, '');
  const unit = opts.unit ?? unitFromName(opts.metric);
  // The schema already refuses this; kept so that the type says "s or ms".
  if (unit === undefined) throw new InvalidConfigError([`unit: required for ${opts.metric}`]);
  const s: PrometheusSettings = {
    ...opts,
    unit,
    factor: unit === 's' ? 1000 : 1,
    label: `prometheus(${base})`,
    now: deps.now ?? Date.now,
  };
  const api: PromApi = createPromApi({
    base,
    bearerToken: opts.bearerToken,
    requestTimeoutMs: opts.requestTimeoutMs,
    label: s.label,
  });

  async function fetchWindow(endpoint: string, fetchOpts: FetchOptions): Promise<LatencyWindow> {
    const q = windowQueries(s, endpoint, fetchOpts.windowHours);
    const empty: LatencyWindow = { durationsMs: [], timestampsMs: undefined };
    if (!q) return empty;
    // One evaluation time for both queries, so the mean and the buckets cover the same window.
    const timeSec = s.now() / 1000;
    const [buckets, sums] = await Promise.all([
      api.query(q.buckets, timeSec),
      api.query(q.sum, timeSec),
    ]);
    const histogram = histogramFromBuckets(buckets, s.factor, s.label, s.metric);
    if (!histogram) return empty;
    const sum = sums[0]?.value;
    if (sum !== undefined && Number.isFinite(sum) && sum >= 0) histogram.sumMs = sum * s.factor;
    return { durationsMs: [], timestampsMs: undefined, histogram };
  }

  return {
    name: 'prometheus',
    fetchWindow,
    /**
     * Ready when Prometheus answers and holds series of `<metric>_bucket` matching the selector
     * in the last 48 h: otherwise every window would be empty and nothing would say why.
     */
    async check(): Promise<void> {
      const end = s.now() / 1000;
      const match = `${s.metric}_bucket{${s.selector}}`;
      const found = await api.labelValues('le', match, end - 48 * 3600, end);
      if (found.length === 0) throw new SourceMetricNotFoundError(s.label, match);
    },
    inspect: (endpoints, fetchOpts) => inspectPrometheus(api, s, fetchWindow, endpoints, fetchOpts),
    discover: (fetchOpts) => discoverPrometheus(api, s, fetchOpts),
  };
}
