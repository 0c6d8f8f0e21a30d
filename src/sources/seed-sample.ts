// Source `seed-sample`: the original's dummy mode — the same 522 durations for every endpoint.
import { readFileSync } from 'node:fs';
import type { FetchOptions, LatencySource, LatencyWindow } from './types.ts';

const SAMPLE_PATH = new URL('../../data/seed-sample-durations.json', import.meta.url);

let cached: readonly number[] | undefined;

/** The 522 sample durations in ms, in the original's order. */
export function seedSampleDurationsMs(): readonly number[] {
  if (!cached) {
    const raw = JSON.parse(readFileSync(SAMPLE_PATH, 'utf8')) as { durations_ns: number[] };
    cached = Object.freeze(raw.durations_ns.map((ns) => ns / 1e6));
  }
  return cached;
}

export function createSeedSampleSource(): LatencySource {
  return {
    name: 'seed-sample',
    fetchWindow(_endpoint: string, options: FetchOptions): Promise<LatencyWindow> {
      const all = seedSampleDurationsMs();
      // The sample has no timestamps, so only the count limit applies (most recent = last).
      return Promise.resolve({
        durationsMs: all.slice(Math.max(0, all.length - options.limit)),
        timestampsMs: undefined,
      });
    },
    check: () => Promise.resolve(),
  };
}
