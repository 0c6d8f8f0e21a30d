// Upper-quantile estimation that still answers beyond the window's reach (exponential tail / POT).
import { orderStatistic } from '../core/stats.ts';

/**
 * The `q` quantile of an ascending-sorted window. Inside the window's reach (at least one value
 * above the level, n·(1 − q) ≥ 1) it is the order statistic; beyond it, the tail above the top
 * `tailShare` of the window is taken as exponential (peaks over threshold) and extrapolated:
 * u + mean excess · ln(share / (1 − q)). Never below the window's maximum in that case.
 */
export function upperQuantile(sorted: ArrayLike<number>, q: number, tailShare = 0.1): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const p = 1 - q;
  if (p * n >= 1) return orderStatistic(sorted, q);
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
