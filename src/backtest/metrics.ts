// Scores of one strategy on one endpoint, accumulated request by request (SPEC §3).
import { orderStatistic, sortedCopy } from '../core/stats.ts';

/** Size of the rolling block for the worst false-timeout rate. */
export const ROLLING_BLOCK = 1000;

export interface StrategyScore {
  judged: number;
  falseTimeouts: number;
  /** Share of judged requests longer than the timeout in force when they started. */
  falseTimeoutRate: number;
  /** Highest false-timeout rate over any block of 1000 consecutive judged requests. */
  worstRollingRate: number;
  meanTimeoutMs: number;
  medianTimeoutMs: number;
  /** Mean served timeout ÷ the hindsight 1 − α quantile of the judged durations. */
  inflation: number;
  /** Mean pinball loss at level 1 − α, in ms. */
  pinballLoss: number;
  /** Times the strategy computed a value (recomputes), and failed to. */
  recomputes: number;
  failures: number;
  /** 99th percentile over recomputes of served ÷ the max of the window it was computed from. */
  overshootP99: number;
  /** Largest served ÷ window max over recomputes. */
  overshootMax: number;
  /** Shifts scored for recovery (see `recoveryCounts`). */
  shifts: number;
  /** Median number of computations to come within 1.2× of the settled value after a shift; null without shifts. */
  recoveryP50: number | null;
  /** Largest such number (RECOVERY_SETTLE_AFTER means: not within it by then); null without shifts. */
  recoveryMax: number | null;
}

/** A shift: the window's 1 − α quantile changes by more than this factor from one computation to the next. */
export const SHIFT_FACTOR = 2;
/** "Recovered": the served value within this factor of the settled value, either way. */
export const RECOVERY_FACTOR = 1.2;
/** The settled value is the median served over computations [k + this, k + 2·this) after a shift at k. */
export const RECOVERY_SETTLE_AFTER = 10;

/**
 * Recovery after shifts. `referenceMs[k]` is the strategy-independent 1 − α order statistic of
 * the window at computation k, `servedMs[k]` the strategy's served value after it. A shift is a
 * computation k ≥ 1 where the reference changed by more than SHIFT_FACTOR × either way, with no
 * other shift in the next 2·L computations (L = RECOVERY_SETTLE_AFTER) so that a settled value
 * exists: S = the median served over [k + L, k + 2L). Recovery is the smallest r in [0, L] such
 * that every served value from k + r to k + L − 1 lies within [S / 1.2, 1.2 · S]; r = L means
 * not recovered within L computations.
 */
export function recoveryCounts(
  referenceMs: readonly number[],
  servedMs: readonly number[],
  L = RECOVERY_SETTLE_AFTER,
): number[] {
  const n = Math.min(referenceMs.length, servedMs.length);
  const shifts: number[] = [];
  for (let k = 1; k < n; k++) {
    const a = referenceMs[k - 1] as number;
    const b = referenceMs[k] as number;
    if (a > 0 && b > 0 && (b > SHIFT_FACTOR * a || a > SHIFT_FACTOR * b)) shifts.push(k);
  }
  const out: number[] = [];
  for (let i = 0; i < shifts.length; i++) {
    const k = shifts[i] as number;
    const next = shifts[i + 1] ?? Number.POSITIVE_INFINITY;
    if (k + 2 * L > n || next < k + 2 * L) continue;
    const settled = orderStatistic(sortedCopy(servedMs.slice(k + L, k + 2 * L)), 0.5);
    const within = (v: number) => v <= RECOVERY_FACTOR * settled && v * RECOVERY_FACTOR >= settled;
    let r = L;
    while (r > 0 && within(servedMs[k + r - 1] as number)) r--;
    out.push(r);
  }
  return out;
}

/** p99 and max of overshoots, median and max of recoveries (nulls where there is nothing to rank). */
export function shapeStats(
  overshoots: readonly number[],
  recoveries: readonly number[],
): Pick<StrategyScore, 'overshootP99' | 'overshootMax' | 'shifts' | 'recoveryP50' | 'recoveryMax'> {
  const o = sortedCopy(overshoots);
  const r = sortedCopy(recoveries);
  return {
    overshootP99: o.length ? orderStatistic(o, 0.99) : 0,
    overshootMax: o.length ? (o[o.length - 1] as number) : 0,
    shifts: r.length,
    recoveryP50: r.length ? orderStatistic(r, 0.5) : null,
    recoveryMax: r.length ? (r[r.length - 1] as number) : null,
  };
}

/** Accumulates one strategy's judgements on one endpoint. */
export class ScoreAccumulator {
  judged = 0;
  misses = 0;
  sumTimeout = 0;
  sumPinball = 0;
  recomputes = 0;
  failures = 0;
  worstRolling = 0;
  private readonly timeouts: number[] = [];
  /** Served ÷ window max, one per successful recompute. */
  readonly overshoots: number[] = [];
  /** Recovery counts, set once the replay knows the whole timeline (`recoveryCounts`). */
  recoveries: number[] = [];
  private readonly ring = new Uint8Array(ROLLING_BLOCK);
  private ringMisses = 0;

  constructor(private readonly alpha: number) {}

  judge(durationMs: number, timeoutMs: number): void {
    const miss = durationMs > timeoutMs ? 1 : 0;
    const slot = this.judged % ROLLING_BLOCK;
    if (this.judged >= ROLLING_BLOCK) this.ringMisses -= this.ring[slot] as number;
    this.ring[slot] = miss;
    this.ringMisses += miss;
    this.judged++;
    this.misses += miss;
    if (this.judged >= ROLLING_BLOCK) {
      this.worstRolling = Math.max(this.worstRolling, this.ringMisses / ROLLING_BLOCK);
    }
    this.sumTimeout += timeoutMs;
    this.timeouts.push(timeoutMs);
    // Pinball loss at τ = 1 − α of the timeout as a quantile forecast of the duration.
    const tau = 1 - this.alpha;
    const diff = durationMs - timeoutMs;
    this.sumPinball += diff > 0 ? tau * diff : (tau - 1) * diff;
  }

  /** Final scores; `hindsightQuantileMs` is the 1 − α quantile of this endpoint's judged durations. */
  score(hindsightQuantileMs: number): StrategyScore {
    const n = this.judged;
    const mean = n ? this.sumTimeout / n : 0;
    return {
      judged: n,
      falseTimeouts: this.misses,
      falseTimeoutRate: n ? this.misses / n : 0,
      // Fewer judged requests than one block: the whole run is the only block.
      worstRollingRate: n >= ROLLING_BLOCK ? this.worstRolling : n ? this.misses / n : 0,
      meanTimeoutMs: mean,
      medianTimeoutMs: n ? orderStatistic(sortedCopy(this.timeouts), 0.5) : 0,
      inflation: hindsightQuantileMs > 0 ? mean / hindsightQuantileMs : 0,
      pinballLoss: n ? this.sumPinball / n : 0,
      recomputes: this.recomputes,
      failures: this.failures,
      ...shapeStats(this.overshoots, this.recoveries),
    };
  }

  /** One recompute's overshoot: the served value ÷ the largest duration of its window. */
  recordOvershoot(servedMs: number, windowMaxMs: number): void {
    if (windowMaxMs > 0) this.overshoots.push(servedMs / windowMaxMs);
  }

  /** The served timeouts this accumulator judged against, in order (for pooled medians). */
  get judgedTimeouts(): readonly number[] {
    return this.timeouts;
  }
}

/** Pools per-endpoint scores into the overall row (sums over requests; inflation as a ratio of sums). */
export function poolScores(
  parts: {
    score: StrategyScore;
    hindsightQuantileMs: number;
    timeouts: readonly number[];
    overshoots?: readonly number[];
    recoveries?: readonly number[];
  }[],
): StrategyScore {
  let judged = 0;
  let misses = 0;
  let sumT = 0;
  let sumQ = 0;
  let sumPinball = 0;
  let worst = 0;
  let recomputes = 0;
  let failures = 0;
  const all: number[] = [];
  const overshoots: number[] = [];
  const recoveries: number[] = [];
  for (const { score: s, hindsightQuantileMs: q, timeouts, ...shape } of parts) {
    for (const o of shape.overshoots ?? []) overshoots.push(o);
    for (const r of shape.recoveries ?? []) recoveries.push(r);
    judged += s.judged;
    misses += s.falseTimeouts;
    sumT += s.meanTimeoutMs * s.judged;
    sumQ += q * s.judged;
    sumPinball += s.pinballLoss * s.judged;
    worst = Math.max(worst, s.worstRollingRate);
    recomputes += s.recomputes;
    failures += s.failures;
    for (const t of timeouts) all.push(t);
  }
  return {
    judged,
    falseTimeouts: misses,
    falseTimeoutRate: judged ? misses / judged : 0,
    worstRollingRate: worst,
    meanTimeoutMs: judged ? sumT / judged : 0,
    medianTimeoutMs: all.length ? orderStatistic(sortedCopy(all), 0.5) : 0,
    inflation: sumQ > 0 ? sumT / sumQ : 0,
    pinballLoss: judged ? sumPinball / judged : 0,
    recomputes,
    failures,
    ...shapeStats(overshoots, recoveries),
  };
}
