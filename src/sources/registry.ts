// Named registry of latency sources; the broker never imports a concrete adapter.
import { UnknownSourceError } from '../core/errors.ts';
import { createInfluxSource } from './influxdb.ts';
import { createOtlpSource } from './otlp.ts';
import { createPrometheusSource } from './prometheus.ts';
import { createSeedSampleSource } from './seed-sample.ts';
import { createSyntheticSource, syntheticOptionsFrom } from './synthetic.ts';
import type { LatencySource } from './types.ts';

export type SourceFactory = (options: Record<string, unknown>) => LatencySource;

const factories = new Map<string, SourceFactory>([
  ['seed-sample', () => createSeedSampleSource()],
  ['influxdb', (o) => createInfluxSource(o)],
  ['synthetic', (o) => createSyntheticSource(syntheticOptionsFrom(o))],
  ['otlp', (o) => createOtlpSource(o)],
  ['prometheus', (o) => createPrometheusSource(o)],
]);

export function registerSource(name: string, factory: SourceFactory): void {
  factories.set(name, factory);
}

export function sourceNames(): string[] {
  return [...factories.keys()];
}

export function createSource(name: string, options: Record<string, unknown> = {}): LatencySource {
  const factory = factories.get(name);
  if (!factory) throw new UnknownSourceError(name, sourceNames());
  return factory(options);
}
