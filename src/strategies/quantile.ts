// Strategy `quantile`: the 1 − α order statistic of the window (the field's practice, SPEC §2).
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { InsufficientDataError } from '../core/errors.ts';
import { orderStatistic, sortedCopy } from '../core/stats.ts';
import type { StrategyInput, StrategyResult, TimeoutStrategy } from './types.ts';

export const quantileOptionsSchema = z
  .object({
    /** Fewest samples needed; below it the computation fails and the broker keeps the old value. Default 1. */
    minSamples: z.number().int().positive().default(1),
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
      const value = orderStatistic(sortedCopy(input.durationsMs), 1 - input.alpha);
      return { timeoutMs: value, method: 'order-statistic' };
    },
  };
}
