// Strategy `quantile`: the 1 − α order statistic of the window (the field's practice, SPEC §2).
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { InsufficientDataError } from '../core/errors.ts';
import { readableCount, readableMs } from '../core/serving.ts';
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
      const sorted = input.sortedMs ?? sortedCopy(input.durationsMs);
      const value = upperQuantile(sorted, input.alpha, opts.tailShare);
      const reached = withinReach(n, input.alpha);
      return {
        timeoutMs: value,
        method: reached ? 'order-statistic' : 'tail-extrapolation',
        reason: quantileReason(n, input.alpha, value, reached, sorted[n - 1] as number),
      };
    },
  };
}

/** "p99.9" for a level 1 − α: the percentile with as many decimals as α needs (α = 0.0007 → p99.93). */
export function percentileLabel(alpha: number): string {
  return `p${Number(((1 - alpha) * 100).toPrecision(12))}`;
}

/**
 * "p99.9 of 3 420 calls = 4.9 s", or, when the window is too small to show that quantile,
 * "p99.9 extrapolated (exponential tail) from 420 calls, max 3.1 s = 4.2 s" (or "p99.9 is
 * beyond 420 calls: the window's max = 3.1 s" where the extrapolation stays below the maximum).
 */
export function quantileReason(
  n: number,
  alpha: number,
  valueMs: number,
  withinReach: boolean,
  maxMs: number,
): string {
  const label = percentileLabel(alpha);
  if (withinReach) return `${label} of ${readableCount(n)} calls = ${readableMs(valueMs)}`;
  // The extrapolation never answers below the window's maximum; then the maximum is the answer.
  if (valueMs <= maxMs) {
    return `${label} is beyond ${readableCount(n)} calls: the window's max = ${readableMs(valueMs)}`;
  }
  return (
    `${label} extrapolated (exponential tail) from ${readableCount(n)} calls, ` +
    `max ${readableMs(maxMs)} = ${readableMs(valueMs)}`
  );
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
  const label = percentileLabel(alpha);
  if (!q.inTopBucket) {
    return {
      timeoutMs: q.valueMs,
      method: HISTOGRAM_METHOD,
      reason:
        `${label} of ${readableCount(n)} calls (histogram buckets, interpolated) = ` +
        readableMs(q.valueMs),
    };
  }
  const top = topFiniteBoundMs(h);
  if (!(top > 0)) throw new InsufficientDataError(endpoint, 0, minSamples);
  return {
    timeoutMs: top,
    method: HISTOGRAM_TOP_BUCKET_METHOD,
    reason:
      `${label} of ${readableCount(n)} calls lies above the highest bucket bound: answered ` +
      `that bound, ${readableMs(top)} (a lower bound of the true quantile)`,
  };
}
