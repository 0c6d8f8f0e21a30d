// Strategy `quantile`: the 1 − α order statistic of the window (the field's practice, SPEC §2).
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { InsufficientDataError } from '../core/errors.ts';
import { sortedCopy } from '../core/stats.ts';
import { upperQuantile, withinReach } from './tail.ts';
import type { StrategyInput, StrategyResult, TimeoutStrategy } from './types.ts';

export const quantileOptionsSchema = z
  .object({
    /** Fewest samples needed; below it the computation fails and the broker keeps the old value. Default 10. */
    minSamples: z.number().int().positive().default(10),
    /** Share of the window taken as the tail when the window is too small for the level. Default 0.1. */
    tailShare: z.number().gt(0).lt(1).default(0.1),
  })
  .strict();

export type QuantileOptions = z.infer<typeof quantileOptionsSchema>;

export function createQuantileStrategy(options: Partial<QuantileOptions> = {}): TimeoutStrategy {
  const opts = parseConfig(quantileOptionsSchema, options);
  return {
    name: 'quantile',
    description: 'the 1 − α order statistic of the window',
    compute(input: StrategyInput): StrategyResult {
      const n = input.durationsMs.length;
      if (n < opts.minSamples) throw new InsufficientDataError(input.endpoint, n, opts.minSamples);
      // Warm-up: a window of fewer than 1/α values cannot show its 1 − α quantile; the
      // exponential-tail extrapolation answers above its maximum instead of at it.
      const value = upperQuantile(
        input.sortedMs ?? sortedCopy(input.durationsMs),
        input.alpha,
        opts.tailShare,
      );
      return {
        timeoutMs: value,
        method: withinReach(n, input.alpha) ? 'order-statistic' : 'tail-extrapolation',
      };
    },
  };
}
