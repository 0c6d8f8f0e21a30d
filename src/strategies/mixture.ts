// Several learning rates at once for `adaptive` (DtACI, Gibbs & Candès 2024): one quantile tracker per rate, exponential weights on their pinball loss.

/**
 * The learning-rate grid DtACI's authors recommend and use in their experiments: eight rates,
 * each twice the previous, 0.001 to 0.128. Here in units of the tracker's scale (the window's
 * IQR): the grid's top rates bracket conformal PID's default step (0.1 × scale), the single
 * tracker's γ.
 */
export const DTACI_LEARNING_RATES: readonly number[] = [
  0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
];

/** The mixture's state as it travels through the broker (`previous.state`, ~300 bytes for 8 rates). */
export interface MixtureState {
  /** Shape version: 3 (2 is the single tracker's `{v: 2, correction}`, which restarts here). */
  v: 3;
  /** Each expert's correction, in units of the scale, same order as the learning rates. */
  corrections: number[];
  /** Each expert's weight (positive, summing to 1). */
  weights: number[];
  /**
   * The base quantile and the scale (ms) of the computation that produced this state: the
   * thresholds each expert would have served are rebuilt from them to judge the requests since.
   */
  baseMs: number;
  widthMs: number;
}

/** A fresh mixture: every correction 0, equal weights. */
export function freshMixture(k: number): MixtureState {
  return {
    v: 3,
    corrections: new Array<number>(k).fill(0),
    weights: new Array<number>(k).fill(1 / k),
    baseMs: 0,
    widthMs: 0,
  };
}

/**
 * Reads the state a previous computation returned. Anything that is not a v3 state for exactly
 * `k` experts (the single tracker's v2, the level-space `{level}`, another grid, junk) restarts.
 */
export function readMixtureState(
  state: Record<string, unknown> | undefined,
  k: number,
): { state: MixtureState; restarted: boolean } {
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const c = state?.corrections;
  const w = state?.weights;
  const ok =
    state?.v === 3 &&
    Array.isArray(c) &&
    Array.isArray(w) &&
    c.length === k &&
    w.length === k &&
    c.every(finite) &&
    w.every((x) => finite(x) && x > 0) &&
    finite(state.baseMs) &&
    finite(state.widthMs);
  if (!ok) return { state: freshMixture(k), restarted: true };
  const sum = (w as number[]).reduce((a, b) => a + b, 0);
  return {
    state: {
      v: 3,
      corrections: [...c],
      weights: (w as number[]).map((x) => x / sum),
      baseMs: state.baseMs as number,
      widthMs: state.widthMs as number,
    },
    restarted: false,
  };
}

/** The served correction: the weighted mean of the experts' (DtACI's deterministic variant). */
export function mixedCorrection(s: Pick<MixtureState, 'corrections' | 'weights'>): number {
  let c = 0;
  for (let i = 0; i < s.corrections.length; i++)
    c += (s.weights[i] as number) * (s.corrections[i] as number);
  return c;
}

/**
 * DtACI's weight parameters as its theorem sets them for an interval of length I:
 * σ = 1/(2I), η = √(3/I)·√((ln(K·I) + 2) / ((1−α)²α³ + α²(1−α)³)); the denominator is
 * α²(1−α)². I = ⌈1/α⌉ requests: the shortest stretch in which a calibrated timeout expects one
 * miss, so the loss of a level-α threshold says something about it (the paper leaves I to the
 * user; its experiments use a few hundred steps at α = 0.1, i.e. tens of expected misses).
 */
export function dtaciParameters(k: number, alpha: number): { eta: number; sigma: number } {
  const interval = Math.ceil(1 / alpha);
  const eta =
    (Math.sqrt(3 / interval) * Math.sqrt(Math.log(k * interval) + 2)) / (alpha * (1 - alpha));
  return { eta, sigma: 1 / (2 * interval) };
}

/** Pinball loss of level θ when the request's own level was β (DtACI's loss, bounded by 1). */
export function levelPinball(beta: number, theta: number, alpha: number): number {
  const d = beta - theta;
  return alpha * d - Math.min(0, d);
}

/** Share of the sorted window strictly above `x` (the level at which `x` is the threshold). */
export function shareAbove(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return sorted.length === 0 ? 0 : (sorted.length - lo) / sorted.length;
}

/** Durations of the window's requests that started at or after `sinceMs` (timestamps ascending). */
export function durationsSince(
  durationsMs: ArrayLike<number>,
  timestampsMs: ArrayLike<number>,
  sinceMs: number,
): number[] {
  const out: number[] = [];
  for (let i = durationsMs.length - 1; i >= 0 && (timestampsMs[i] as number) >= sinceMs; i--)
    out.push(durationsMs[i] as number);
  return out.reverse();
}

/** What one computation's batch did to the mixture. */
export interface MixtureUpdate {
  corrections: number[];
  weights: number[];
  /** The served (mixed) correction after the update. */
  correction: number;
}

/**
 * One batch of requests through DtACI in duration space. Each expert k served (in effect) the
 * threshold T_k = served × (base' + width'·c_k) / (base' + width'·c̄), where base', width' and c̄
 * are the previous computation's (so the expert at the mixture's correction served exactly what
 * the broker served, margin and damping included). For every request, in order: its level
 * β = share of the current window above it, each expert's level θ_k = share above T_k, weights
 * multiplied by exp(−η·pinball(β, θ_k)), normalised, then mixed with the uniform by σ (DtACI's
 * restart floor: no expert's weight is lost for good). Then each expert's correction takes its
 * own quantile-tracking step γ_k·(misses − count·α), clamped to `range` (anti-windup).
 *
 * Unlike the single tracker, the misses are not saturated per batch: each expert is plain ACI (in
 * score space), as DtACI's guarantee assumes. The saturation protected one rate of 0.1 from a
 * burst's wind-up; here the range clamp caps every expert, the served correction averages rates
 * 128 times apart (a third of 0.1 at equal weights), and the weights favour the rates whose
 * thresholds had the lower loss (docs/strategies.md, "how it behaves").
 */
export function mixtureStep(
  prior: MixtureState,
  since: readonly number[],
  servedMs: number,
  sorted: ArrayLike<number>,
  alpha: number,
  rates: readonly number[],
  range: { min: number; max: number },
): MixtureUpdate {
  const k = rates.length;
  const { eta, sigma } = dtaciParameters(k, alpha);
  const mixedBefore = prior.baseMs + prior.widthMs * mixedCorrection(prior);
  const thresholds = prior.corrections.map((c) =>
    mixedBefore > 0 ? (servedMs * (prior.baseMs + prior.widthMs * c)) / mixedBefore : servedMs,
  );
  const thetas = thresholds.map((t) => shareAbove(sorted, t));
  const weights = [...prior.weights];
  for (const s of since) {
    const beta = shareAbove(sorted, s);
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const w =
        (weights[i] as number) * Math.exp(-eta * levelPinball(beta, thetas[i] as number, alpha));
      weights[i] = w;
      sum += w;
    }
    // All weights underflowing (η·loss > ~745 for every expert) cannot happen with losses ≤ 1
    // and η of a few hundred, but a zero sum would poison the state: restart the weights then.
    for (let i = 0; i < k; i++)
      weights[i] = (1 - sigma) * (sum > 0 ? (weights[i] as number) / sum : 1 / k) + sigma / k;
  }
  const corrections = prior.corrections.map((c, i) => {
    let over = 0;
    for (const s of since) if (s > (thresholds[i] as number)) over++;
    const next = c + (rates[i] as number) * (over - since.length * alpha);
    return Math.min(range.max, Math.max(range.min, next));
  });
  return { corrections, weights, correction: mixedCorrection({ corrections, weights }) };
}
