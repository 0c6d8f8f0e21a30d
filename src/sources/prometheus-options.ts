// Options of source prometheus: one zod schema and its command-line table (`jit worker --prometheus-…`).
import { z } from 'zod';
import { httpUrl, type CliOptionTable } from '../core/config.ts';
import { isLabelName, isMetricName, selectorProblem } from './promql.ts';

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

/**
 * The prometheus source's options on the command line (defaults: prometheusOptionsSchema).
 * `jit worker --source prometheus` reads them; with `--prometheus-url` and no `--source` nor
 * InfluxDB URL, the source is prometheus.
 */
export const prometheusCliOptions: CliOptionTable<z.input<typeof prometheusOptionsSchema>> = {
  url: {
    flag: '--prometheus-url',
    env: 'JIT_PROMETHEUS_URL',
    arg: 'url',
    help: 'Prometheus base URL (source prometheus)',
    url: true,
  },
  metric: {
    flag: '--prometheus-metric',
    env: 'JIT_PROMETHEUS_METRIC',
    arg: 'name',
    help: 'histogram base name; reads <name>_bucket and <name>_sum',
  },
  selector: {
    flag: '--prometheus-selector',
    env: 'JIT_PROMETHEUS_SELECTOR',
    arg: 'matchers',
    help: 'label matchers added to every query, e.g. \'job="api",env!="dev"\'',
    defaultText: 'none',
  },
  endpointLabels: {
    flag: '--prometheus-endpoint-labels',
    env: 'JIT_PROMETHEUS_ENDPOINT_LABELS',
    arg: 'labels',
    help: 'comma-separated labels whose values, joined by a space, name an endpoint (e.g. "GET /api/orders"); only the last may hold spaces',
  },
  unit: {
    flag: '--prometheus-unit',
    env: 'JIT_PROMETHEUS_UNIT',
    arg: 'unit',
    help: 'unit of the histogram: s|ms',
    defaultText: 'from the metric name: _seconds → s, _milliseconds/_ms → ms',
  },
  bearerToken: {
    flag: '--prometheus-token',
    env: 'JIT_PROMETHEUS_TOKEN',
    arg: 'token',
    help: 'bearer token sent to Prometheus',
    defaultText: 'none',
    fromFile: true,
  },
  requestTimeoutMs: {
    flag: '--prometheus-timeout-ms',
    env: 'JIT_PROMETHEUS_TIMEOUT_MS',
    unit: 'ms',
    help: 'per-request timeout',
  },
};
