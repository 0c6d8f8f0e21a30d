// Source `prometheus`: an endpoint's latency histogram (bucket counts over the window) via the HTTP API.
import { parseConfig } from '../core/config.ts';
import { InvalidConfigError, SourceMetricNotFoundError, SourceQueryError } from '../core/errors.ts';
import { inspectPrometheus, discoverPrometheus } from './prometheus-inspect.ts';
import { createPromApi, type PromApi, type VectorSample } from './prometheus-api.ts';
import {
  prometheusOptionsSchema,
  unitFromName,
  type PrometheusOptions,
} from './prometheus-options.ts';
import { bucketQuery, joinMatchers, labelMatchers, splitEndpointName, sumQuery } from './promql.ts';
import type { FetchOptions, LatencyHistogram, LatencySource, LatencyWindow } from './types.ts';

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
    histograms: true,
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
