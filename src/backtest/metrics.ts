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
    };
  }

  /** The served timeouts this accumulator judged against, in order (for pooled medians). */
  get judgedTimeouts(): readonly number[] {
    return this.timeouts;
  }
}

/** Pools per-endpoint scores into the overall row (sums over requests; inflation as a ratio of sums). */
export function poolScores(
  parts: { score: StrategyScore; hindsightQuantileMs: number; timeouts: readonly number[] }[],
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
  for (const { score: s, hindsightQuantileMs: q, timeouts } of parts) {
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
  };
}
