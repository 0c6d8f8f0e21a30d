// Upper-quantile estimation that still answers beyond the window's reach (exponential tail / POT).
import { orderStatistic } from '../core/stats.ts';

/** Whether a window of `n` values reaches its `1 − p` quantile (at least one value above it). */
export function withinReach(n: number, p: number): boolean {
  // Tolerance as orderStatistic: 1 − 0.9 is 0.09999999999999998, and 10 values do reach p90.
  return p * n >= 1 - 1e-9;
}

/**
 * The `1 − p` quantile of an ascending-sorted window (`p` is the upper-tail share, e.g. α).
 * Within the window's reach it is the order statistic; beyond it, the tail above the top
 * `tailShare` of the window is taken as exponential (peaks over threshold) and extrapolated:
 * u + mean excess · ln(share / p). Never below the window's maximum in that case.
 */
export function upperQuantile(sorted: ArrayLike<number>, p: number, tailShare = 0.1): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (withinReach(n, p)) return orderStatistic(sorted, 1 - p);
  const max = sorted[n - 1] as number;
  const k = Math.max(2, Math.min(n - 1, Math.round(n * tailShare)));
  if (k < 2 || n < 3) return max;
  const u = sorted[n - 1 - k] as number;
  let excess = 0;
  for (let i = n - k; i < n; i++) excess += (sorted[i] as number) - u;
  excess /= k;
  const level = Math.max(p, 1e-12);
  return Math.max(max, u + excess * Math.log(k / n / level));
}
