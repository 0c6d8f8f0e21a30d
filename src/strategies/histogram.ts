// Quantiles, exceedance and summaries of a window given as bucket counts (a Prometheus histogram).
import { HistogramNotSupportedError } from '../core/errors.ts';
import type { WindowSummary } from '../core/stats.ts';
import type { LatencyHistogram } from '../sources/types.ts';

/** A quantile read from a histogram. */
export interface HistogramQuantile {
  /**
   * The quantile in ms, interpolated linearly inside its bucket (as Prometheus's
   * histogram_quantile). When it falls in the +Inf bucket it cannot be known: the value is then
   * the highest finite bound (a lower bound of the truth) and `inTopBucket` is true. NaN for an
   * empty histogram.
   */
  valueMs: number;
  /** True when the quantile lies above the highest finite bucket bound (value clamped to it). */
  inTopBucket: boolean;
}

/** Sum of the counts (observations in the window; not an integer after extrapolation). */
export function histogramTotal(h: LatencyHistogram): number {
  let total = 0;
  for (const c of h.counts) total += c;
  return total;
}

/** The highest finite bucket bound (ms); 0 for a histogram with only the +Inf bucket. */
export function topFiniteBoundMs(h: LatencyHistogram): number {
  return h.boundsMs.at(-1) ?? 0;
}

/**
 * The `level` quantile (0 < level < 1, e.g. 1 − α) of the histogram. Within bucket i, whose
 * lower edge is the previous bound (0 for the first bucket, as histogram_quantile assumes
 * latencies ≥ 0), observations are taken as spread evenly.
 */
export function histogramQuantile(h: LatencyHistogram, level: number): HistogramQuantile {
  const total = histogramTotal(h);
  if (!(total > 0)) return { valueMs: Number.NaN, inTopBucket: false };
  const rank = Math.min(1, Math.max(0, level)) * total;
  let below = 0;
  for (let i = 0; i < h.boundsMs.length; i++) {
    const count = h.counts[i] ?? 0;
    // `>=` with a relative tolerance: float sums of extrapolated counts must not push a rank
    // that sits exactly on a bucket's upper edge into the next bucket.
    if (count > 0 && below + count >= rank - 1e-9 * total) {
      const lower = i === 0 ? 0 : (h.boundsMs[i - 1] as number);
      const upper = h.boundsMs[i] as number;
      const inside = Math.min(1, Math.max(0, (rank - below) / count));
      return { valueMs: lower + (upper - lower) * inside, inTopBucket: false };
    }
    below += count;
  }
  return { valueMs: topFiniteBoundMs(h), inTopBucket: true };
}

/** A share of observations above a threshold, read from a histogram. */
export interface HistogramExceedance {
  /** Share of the observations above the threshold (0..1); NaN for an empty histogram. */
  share: number;
  /**
   * True when the threshold lies at or above the highest finite bound while the +Inf bucket
   * holds observations: those are all counted as above it, so `share` is an upper bound.
   */
  inTopBucket: boolean;
}

/**
 * Share of the observations above `thresholdMs`, interpolated linearly inside the bucket the
 * threshold falls in (the inverse of histogramQuantile), for calibrated strategies.
 */
export function histogramExceedance(h: LatencyHistogram, thresholdMs: number): HistogramExceedance {
  const total = histogramTotal(h);
  if (!(total > 0)) return { share: Number.NaN, inTopBucket: false };
  let above = 0;
  for (let i = 0; i < h.boundsMs.length; i++) {
    const count = h.counts[i] ?? 0;
    const lower = i === 0 ? 0 : (h.boundsMs[i - 1] as number);
    const upper = h.boundsMs[i] as number;
    if (thresholdMs < lower) above += count;
    else if (thresholdMs < upper) above += (count * (upper - thresholdMs)) / (upper - lower);
  }
  const top = h.counts[h.boundsMs.length] ?? 0;
  above += top;
  return {
    share: Math.min(1, above / total),
    inTopBucket: top > 0 && thresholdMs >= topFiniteBoundMs(h),
  };
}

/**
 * The worker's summary of a histogram window: samples (total, rounded), mean (sum / count when
 * the source gave `sumMs`, else bucket midpoints with the +Inf bucket at the top bound), sd
 * (from midpoints), interpolated percentiles, and as `max` the upper bound of the highest
 * non-empty bucket (the top finite bound when the +Inf bucket has observations).
 */
export function summarizeHistogram(h: LatencyHistogram): WindowSummary {
  const total = histogramTotal(h);
  if (!(total > 0)) {
    return {
      samples: 0,
      meanMs: 0,
      sdMs: 0,
      percentilesMs: { p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 },
    };
  }
  const mid = (i: number): number => {
    if (i >= h.boundsMs.length) return topFiniteBoundMs(h);
    const lower = i === 0 ? 0 : (h.boundsMs[i - 1] as number);
    return (lower + (h.boundsMs[i] as number)) / 2;
  };
  let sum = 0;
  let sumSq = 0;
  let highest = 0;
  h.counts.forEach((c, i) => {
    const m = mid(i);
    sum += c * m;
    sumSq += c * m * m;
    if (c > 0) highest = i;
  });
  const meanMs = h.sumMs !== undefined && Number.isFinite(h.sumMs) ? h.sumMs / total : sum / total;
  const midMean = sum / total;
  const variance = total > 1 ? Math.max(0, (sumSq - total * midMean * midMean) / (total - 1)) : 0;
  const q = (level: number) => histogramQuantile(h, level).valueMs;
  return {
    samples: Math.round(total),
    meanMs,
    sdMs: Math.sqrt(variance),
    percentilesMs: {
      p50: q(0.5),
      p90: q(0.9),
      p95: q(0.95),
      p99: q(0.99),
      p999: q(0.999),
      max: highest >= h.boundsMs.length ? topFiniteBoundMs(h) : (h.boundsMs[highest] as number),
    },
  };
}

/** Whether a strategy input holds only a histogram (bucket counts, no durations). */
export function isHistogramOnly(input: {
  durationsMs: ArrayLike<number>;
  histogram?: LatencyHistogram | undefined;
}): boolean {
  return input.histogram !== undefined && input.durationsMs.length === 0;
}

/**
 * Throws HistogramNotSupportedError when the input is a histogram only: called first by the
 * strategies that need individual durations, so that even a direct `compute` (not through
 * runStrategy) never answers a no-data value for a window that has data.
 */
export function refuseHistogram(
  strategy: string,
  input: { durationsMs: ArrayLike<number>; histogram?: LatencyHistogram | undefined },
): void {
  if (isHistogramOnly(input)) throw new HistogramNotSupportedError(strategy);
}
