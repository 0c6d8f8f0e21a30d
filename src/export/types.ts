// What every exporter gets: the broker's served values and the mapping, and what it answers.
import type { Mapping, MappingEntry } from './mapping.ts';

export const EXPORT_FORMATS = [
  'gateway-api',
  'istio',
  'envoy',
  'nginx',
  'haproxy',
  'json',
] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** One endpoint as the broker serves it now. */
export interface ServedValue {
  endpoint: string;
  /** The served timeout (ms), or null when the endpoint has no computed value yet (status never). */
  servedMs: number | null;
  status: 'fresh' | 'stale' | 'never';
}

export interface ExportInput {
  values: readonly ServedValue[];
  mapping: Mapping;
  /** Live objects (`kubectl get … -o json`), for gateway-api and istio. */
  base: readonly Record<string, unknown>[];
}

/** A mapped endpoint for one target. */
export interface Mapped<T> {
  value: ServedValue;
  target: T;
}

/** The endpoints mapped for target `key`, in the broker's order. */
export function mappedFor<K extends keyof MappingEntry>(
  input: ExportInput,
  key: K,
): Mapped<NonNullable<MappingEntry[K]>>[] {
  const out: Mapped<NonNullable<MappingEntry[K]>>[] = [];
  for (const value of input.values) {
    const target = input.mapping.endpoints[value.endpoint]?.[key];
    if (target !== undefined) out.push({ value, target: target });
  }
  return out;
}
