// Reads backtest input from a latency source (e.g. InfluxDB) instead of a file: one query per endpoint.
import { createSource } from '../sources/registry.ts';
import type { EndpointSeries } from './replay.ts';

export interface SourceInputOptions {
  /** Source name, e.g. "influxdb". */
  source: string;
  /** The source's options (URL, database, token, …). */
  sourceOptions: Record<string, unknown>;
  endpoints: readonly string[];
  /** How far back to read, in hours. */
  rangeHours: number;
  /** Most recent spans per endpoint. */
  limit: number;
}

export async function readFromSource(
  opts: SourceInputOptions,
): Promise<{ series: EndpointSeries[]; records: number }> {
  const source = createSource(opts.source, opts.sourceOptions);
  const series: EndpointSeries[] = [];
  let records = 0;
  for (const endpoint of opts.endpoints) {
    const w = await source.fetchWindow(endpoint, {
      windowHours: opts.rangeHours,
      limit: opts.limit,
    });
    if (w.durationsMs.length === 0) continue;
    records += w.durationsMs.length;
    series.push({
      endpoint,
      timestampsMs: w.timestampsMs ? Float64Array.from(w.timestampsMs) : undefined,
      durationsMs: Float64Array.from(w.durationsMs),
    });
  }
  await source.close?.();
  return { series, records };
}
