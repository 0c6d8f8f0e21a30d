// A LatencySource for dashboard tests: heavy-tailed latency whose level drifts with every read,
// deterministic (seeded), and an outage switch per endpoint.
import { SourceUnavailableError } from '../../src/core/errors.ts';
import { seededUniform as prng } from '../../src/core/random.ts';
import type { FetchOptions, LatencySource, LatencyWindow } from '../../src/sources/types.ts';

export interface DriftingSource extends LatencySource {
  /** Endpoints whose reads fail (the source is "unreachable" for them). */
  failing: Set<string>;
}

/** Median around `baseMs` (varying per endpoint and per read), a log-normal body and a 2 % slow tail. */
export function driftingSource(baseMs = 20, size = 800): DriftingSource {
  const reads = new Map<string, number>();
  const failing = new Set<string>();
  return {
    name: 'drifting-test',
    failing,
    fetchWindow(endpoint: string, options: FetchOptions): Promise<LatencyWindow> {
      if (failing.has(endpoint)) {
        return Promise.reject(new SourceUnavailableError('drifting-test', 'outage (test)'));
      }
      const n = (reads.get(endpoint) ?? 0) + 1;
      reads.set(endpoint, n);
      let h = 0;
      for (const c of endpoint) h = (h * 31 + c.charCodeAt(0)) >>> 0;
      const rand = prng(h + n * 7919);
      const level = baseMs * (1 + (h % 5)) * (1 + 0.6 * Math.sin(n / 4));
      const durationsMs: number[] = [];
      for (let i = 0; i < Math.min(size, options.limit); i++) {
        // Box–Muller normal → log-normal body; now and then a slow call, 10–60 × the level.
        const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
        const body = level * Math.exp(0.5 * z);
        durationsMs.push(rand() < 0.02 ? body * (10 + 50 * rand()) : body);
      }
      return Promise.resolve({ durationsMs, timestampsMs: undefined });
    },
    check: () => Promise.resolve(),
  };
}
