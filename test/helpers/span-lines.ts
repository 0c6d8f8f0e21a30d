// Line protocol as the span writers of each InfluxDB schema write it (jaeger, otel2influx now and before 2022-10).
import { escapeMeasurement, escapeTag } from './influxd.ts';

/** A line-protocol string field value: backslashes and double quotes escaped. */
export function fieldString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * A map as Go's encoding/json marshals it (otel2influx's `attributes` field): keys sorted,
 * no spaces, and its HTML-safe escapes of <, > and & (JSON.stringify writes the rest the same way).
 */
export function goJson(obj: Record<string, string | number | boolean>): string {
  const sorted = Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify(sorted)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
}

export interface SpanSpec {
  service: string;
  name: string;
  /** http.route attribute. */
  route?: string;
  durationNs: bigint;
  startNs: bigint;
}

let nextId = 1;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/**
 * Jaeger's InfluxDB plugin (github.com/influxdata/jaeger-influxdb, the original's stack): the
 * measurement `span`, the duration in ns as the integer field `duration`, and tag values written
 * with their type prefix (`s:` for strings).
 */
export function jaegerLine(url: string, durationNs: bigint, startNs: bigint): string {
  return `span,http.url=${escapeTag(`s:${url}`)} duration=${durationNs}i ${startNs}`;
}

/**
 * otel2influx as the OpenTelemetry Collector's InfluxDB exporter and Telegraf's
 * inputs.opentelemetry write it today
 * (https://github.com/influxdata/influxdb-observability/blob/main/otel2influx/traces.go,
 * https://github.com/influxdata/influxdb-observability/blob/main/common/common.go): measurement
 * `spans`; trace_id, span_id and (span_dimensions) service.name as tags; the span name, kind,
 * end time and integer `duration_nano` as fields; every other attribute packed into the JSON
 * string field `attributes`.
 */
export function otelLine(s: SpanSpec): string {
  const id = nextId++;
  const attrs: Record<string, string> = { 'http.request.method': 'GET' };
  if (s.route !== undefined) attrs['http.route'] = s.route;
  const tags = `service.name=${escapeTag(s.service)},span_id=${hex(id, 16)},trace_id=${hex(id, 32)}`;
  const fields = [
    `attributes=${fieldString(goJson(attrs))}`,
    `duration_nano=${s.durationNs}i`,
    `end_time_unix_nano=${s.startNs + s.durationNs}i`,
    `span.kind=${fieldString('SPAN_KIND_SERVER')}`,
    `span.name=${fieldString(s.name)}`,
  ].join(',');
  return `${escapeMeasurement('spans')},${tags} ${fields} ${s.startNs}`;
}

/**
 * otel2influx before 2022-10 (the schema of docs/traces.md then): measurement `spans`, the
 * service and span name as tags, and each attribute a field of its own.
 */
export function otel2022Line(s: SpanSpec): string {
  const id = nextId++;
  const tags = `service.name=${escapeTag(s.service)},span.name=${escapeTag(s.name)},span_id=${hex(id, 16)},trace_id=${hex(id, 32)}`;
  const fields = [
    `duration_nano=${s.durationNs}i`,
    `end_time_unix_nano=${s.startNs + s.durationNs}i`,
    ...(s.route === undefined ? [] : [`http.route=${fieldString(s.route)}`]),
    `kind=${fieldString('SPAN_KIND_SERVER')}`,
  ].join(',');
  return `spans,${tags} ${fields} ${s.startNs}`;
}
