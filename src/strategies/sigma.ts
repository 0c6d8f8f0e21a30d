// Strategy `sigma`: mean + k·sd of the window, the original's fallback (k = 2), with its n = 0 rule.
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
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
        };
      }
      const m = mean(input.durationsMs);
      const sd = sampleSd(input.durationsMs, m);
      return { timeoutMs: m + opts.k * sd, method: 'mean+k·sd' };
    },
  };
}
