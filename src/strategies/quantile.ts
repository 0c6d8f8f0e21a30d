// Strategy `quantile`: the 1 − α order statistic of the window (the field's practice, SPEC §2).
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { InsufficientDataError } from '../core/errors.ts';
import { sortedCopy } from '../core/stats.ts';
import {
  histogramQuantile,
  histogramTotal,
  isHistogramOnly,
  topFiniteBoundMs,
} from './histogram.ts';
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
    acceptsHistograms: true,
    compute(input: StrategyInput): StrategyResult {
      if (input.histogram && isHistogramOnly(input)) {
        return histogramResult(input.endpoint, input.histogram, input.alpha, opts.minSamples);
      }
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

/** `method` of a quantile interpolated inside a histogram bucket. */
export const HISTOGRAM_METHOD = 'histogram-interpolation';
/** `method` of a quantile above the highest finite bucket bound, answered as that bound. */
export const HISTOGRAM_TOP_BUCKET_METHOD = 'histogram-top-bucket';

/**
 * The 1 − α quantile of a histogram window. Above the highest finite bound nothing is known but
 * "more than that bound": the answer is then clamped to it (a lower bound of the true quantile),
 * flagged in `method` and explained in `reason`, never an invented value.
 */
function histogramResult(
  endpoint: string,
  h: NonNullable<StrategyInput['histogram']>,
  alpha: number,
  minSamples: number,
): StrategyResult {
  const total = histogramTotal(h);
  // Extrapolated counts are not integers; the count of observations is their sum, rounded.
  const n = Math.round(total);
  if (n < minSamples) throw new InsufficientDataError(endpoint, n, minSamples);
  const q = histogramQuantile(h, 1 - alpha);
  if (!q.inTopBucket) return { timeoutMs: q.valueMs, method: HISTOGRAM_METHOD };
  const top = topFiniteBoundMs(h);
  if (!(top > 0)) throw new InsufficientDataError(endpoint, 0, minSamples);
  return {
    timeoutMs: top,
    method: HISTOGRAM_TOP_BUCKET_METHOD,
    reason:
      `the ${1 - alpha} quantile lies above the highest finite bucket bound (${top} ms): ` +
      `answered that bound, a lower bound of the true quantile`,
  };
}
