// `inspect` and `discover` of the prometheus source: what its queries find, and which endpoints exist.
import { endpointNameProblem } from '../core/endpoint-name.ts';
import { histogramTotal } from '../strategies/histogram.ts';
import type { PromApi } from './prometheus-api.ts';
import type { PrometheusSettings } from './prometheus.ts';
import { unitFromName } from './prometheus-options.ts';
import { endpointMatchers, windowQueries } from './prometheus.ts';
import { joinEndpointName, splitEndpointName } from './promql.ts';
import type { FetchOptions, LatencyWindow, SourceInspection } from './types.ts';

/** Most names listed in one problem sentence. */
const LIST_MAX = 10;

function list(values: readonly string[]): string {
  if (values.length === 0) return 'none';
  const shown = values.slice(0, LIST_MAX).map((v) => JSON.stringify(v));
  return shown.join(', ') + (values.length > LIST_MAX ? `, … (${values.length} in all)` : '');
}

function hours(h: number): string {
  return `${Number(h.toPrecision(4))} h`;
}

const UNIT_WORDS: Record<string, 's' | 'ms'> = {
  seconds: 's',
  second: 's',
  s: 's',
  milliseconds: 'ms',
  millisecond: 'ms',
  ms: 'ms',
};

/**
 * For `jit source check`: the exact PromQL run per endpoint, the observations each finds, and
 * what is missing when something is — the metric (with the histograms that do exist), a native
 * histogram where a classic one is read, no series for the selector, a naming label, a label
 * value, or a unit that contradicts the metric's name or metadata. Errors of Prometheus itself
 * (unreachable, refused query, garbage) are reported as problems, not thrown.
 */
export async function inspectPrometheus(
  api: PromApi,
  s: PrometheusSettings,
  fetchWindow: (endpoint: string, options: FetchOptions) => Promise<LatencyWindow>,
  endpoints: readonly string[],
  options: FetchOptions,
): Promise<SourceInspection> {
  const queries: string[] = [];
  for (const e of endpoints) {
    const q = windowQueries(s, e, options.windowHours);
    if (q) queries.push(q.buckets, q.sum);
  }
  const samples: SourceInspection['samples'] = [];
  const problems: string[] = [];
  const end = s.now() / 1000;
  const start = end - options.windowHours * 3600;
  const window = hours(options.windowHours);
  const bucket = `${s.metric}_bucket`;
  const selected = `${bucket}{${s.selector}}`;
  try {
    const anyLe = await api.labelValues('le', bucket, start, end);
    if (anyLe.length === 0) {
      const native = await api.series(s.metric, start, end);
      if (native.length > 0) {
        problems.push(
          `${s.metric} has series but no ${bucket}: it looks like a native histogram; this ` +
            'source reads classic histograms (<metric>_bucket with an le label)',
        );
      } else {
        const names = await api.metricNames(start, end);
        const histograms = names
          .filter((n) => n.endsWith('_bucket'))
          .map((n) => n.slice(0, -'_bucket'.length));
        problems.push(
          `no metric ${bucket} in the last ${window}; histograms there: ${list(histograms)}`,
        );
      }
      return { queries, samples, problems };
    }
    if ((await api.labelValues('le', selected, start, end)).length === 0) {
      problems.push(
        `${bucket} has series, but none match the selector {${s.selector}} in the last ${window}`,
      );
      return { queries, samples, problems };
    }
    const labels = await api.labels(selected, start, end);
    const missing = s.endpointLabels.filter((l) => !labels.includes(l));
    for (const l of missing) {
      problems.push(
        `no series of ${selected} has the label ${l} (naming labels: ${s.endpointLabels.join(', ')}); ` +
          `its labels: ${list(labels.filter((x) => x !== '__name__' && x !== 'le'))}`,
      );
    }
    const nameUnit = unitFromName(s.metric);
    if (nameUnit !== undefined && nameUnit !== s.unit)
      problems.push(`the unit is ${s.unit} but the name ${s.metric} says ${nameUnit}`);
    const declared = (await api.metadata(s.metric))
      .map((m) => UNIT_WORDS[m.unit.toLowerCase()])
      .find((u) => u !== undefined);
    if (declared !== undefined && declared !== s.unit)
      problems.push(`the unit is ${s.unit} but the targets declare ${s.metric} in ${declared}`);
    for (const endpoint of endpoints) {
      const values = splitEndpointName(endpoint, s.endpointLabels.length);
      if (!values || endpointMatchers(s, endpoint) === undefined) {
        samples.push({ endpoint, count: 0 });
        problems.push(
          `"${endpoint}" is not a name of ${s.endpointLabels.length} space-separated label ` +
            `values (${s.endpointLabels.join(', ')})`,
        );
        continue;
      }
      const w = await fetchWindow(endpoint, options);
      const count = w.histogram ? Math.round(histogramTotal(w.histogram)) : 0;
      samples.push({ endpoint, count });
      if (count > 0 || missing.length > 0) continue;
      const absent: string[] = [];
      for (const [i, l] of s.endpointLabels.entries()) {
        const known = await api.labelValues(l, selected, start, end);
        if (!known.includes(values[i] as string))
          absent.push(
            `label ${l} has no value ${JSON.stringify(values[i])} (it has: ${list(known)})`,
          );
      }
      problems.push(
        absent.length > 0
          ? `no observations for "${endpoint}": ${absent.join('; ')}`
          : `no observations for "${endpoint}" in the last ${window} (its series exist but did not increase)`,
      );
    }
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  return { queries, samples, problems };
}

/**
 * The endpoint names present in the window: one per combination of the naming labels' values
 * among the series of `<metric>_count` matching the selector, built as fetchWindow reads them
 * (values joined by a space). Combinations that cannot make such a name (a label missing, a
 * space in a value other than the last, a control character) are left out. Sorted.
 */
export async function discoverPrometheus(
  api: PromApi,
  s: PrometheusSettings,
  options: FetchOptions,
): Promise<string[]> {
  const end = s.now() / 1000;
  const series = await api.series(
    `${s.metric}_count{${s.selector}}`,
    end - options.windowHours * 3600,
    end,
  );
  const names = new Set<string>();
  for (const labels of series) {
    const name = joinEndpointName(s.endpointLabels.map((l) => labels[l] ?? ''));
    if (name !== undefined && endpointNameProblem(name) === undefined) names.add(name);
  }
  return [...names].sort();
}
