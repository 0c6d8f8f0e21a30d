// Strategy `sigma`: mean + k·sd of the window, the original's fallback (k = 2), with its n = 0 rule.
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { readableCount, readableMs } from '../core/serving.ts';
import { mean, sampleSd } from '../core/stats.ts';
import { refuseHistogram } from './histogram.ts';
import type { StrategyInput, StrategyResult, TimeoutStrategy } from './types.ts';

export const sigmaOptionsSchema = z
  .object({
    /** Number of standard deviations above the mean. Default 2 (the original's). */
    k: z.number().finite().positive().default(2),
    /** Mean and sd assumed when the window is empty (the original's rule). Default 100 (ms). */
    emptyWindowMs: z.number().finite().positive().default(100),
  })
  .strict();

/** `method` of a value computed from an empty window (the original's 100 ms rule). */
export const NO_DATA_METHOD = 'no-data-rule';

export type SigmaOptions = z.infer<typeof sigmaOptionsSchema>;

export function createSigmaStrategy(options: Partial<SigmaOptions> = {}): TimeoutStrategy {
  const opts = parseConfig(sigmaOptionsSchema, options);
  return {
    name: 'sigma',
    description: `mean + ${opts.k}·sd of the window (the original's fallback)`,
    compute(input: StrategyInput): StrategyResult {
      refuseHistogram('sigma', input);
      const n = input.durationsMs.length;
      if (n === 0) {
        // Original: with no spans, mean = sd = 100 ms, so the answer is 100 + 2·100.
        // A placeholder, not a level: the broker must not damp the next value against it.
        return {
          timeoutMs: opts.emptyWindowMs * (1 + opts.k),
          method: NO_DATA_METHOD,
          placeholder: true,
          reason:
            `no durations in the window: the original's rule, mean ${readableMs(opts.emptyWindowMs)} + ` +
            `${opts.k} × sd ${readableMs(opts.emptyWindowMs)} = ${readableMs(opts.emptyWindowMs * (1 + opts.k))}`,
        };
      }
      const m = mean(input.durationsMs);
      const sd = sampleSd(input.durationsMs, m);
      const value = m + opts.k * sd;
      return {
        timeoutMs: value,
        method: 'mean+k·sd',
        reason: sigmaReason(n, m, sd, opts.k, value),
      };
    },
  };
}

/** "mean 120 ms + 2 × sd 40 ms of 3 420 calls = 200 ms (the original's rule)". */
export function sigmaReason(n: number, meanMs: number, sdMs: number, k: number, valueMs: number) {
  return (
    `mean ${readableMs(meanMs)} + ${k} × sd ${readableMs(sdMs)} of ${readableCount(n)} calls = ` +
    `${readableMs(valueMs)} (the original's rule)`
  );
}
