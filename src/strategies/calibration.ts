// Online calibration of `adaptive` in duration space: a saturated quantile tracker fed request by request.

/** The tracker's state as it travels through the broker (`previous.state`, a few dozen bytes). */
export interface TrackerState {
  /** Shape version; state without it (`{ level }`, the former level-space calibration) restarts at 0. */
  v: 2;
  /** Correction added to the base quantile, in interquartile ranges of the window (scale-free; see `trackerStep`). */
  correction: number;
}

/** Reads the state a previous computation returned; anything else (old `{level}`, junk) starts at 0. */
export function readTrackerState(state: Record<string, unknown> | undefined): TrackerState {
  const c = state?.v === 2 ? state.correction : undefined;
  return { v: 2, correction: typeof c === 'number' && Number.isFinite(c) ? c : 0 };
}

/** The requests judged since the previous computation: how many, and how many exceeded the timeout. */
export interface Exceedances {
  /** Requests that started at or after `sinceMs`. */
  count: number;
  /** Of those, the ones that lasted longer than the timeout then in force. */
  over: number;
}

/** Counts the window's requests since `sinceMs` (timestamps ascending) and those above `timeoutMs`. */
export function exceedancesSince(
  durationsMs: ArrayLike<number>,
  timestampsMs: ArrayLike<number>,
  sinceMs: number,
  timeoutMs: number,
): Exceedances {
  let count = 0;
  let over = 0;
  for (let i = durationsMs.length - 1; i >= 0 && (timestampsMs[i] as number) >= sinceMs; i--) {
    count++;
    if ((durationsMs[i] as number) > timeoutMs) over++;
  }
  return { count, over };
}

/**
 * The most exceedances one computation's batch may feed the tracker: a one-sided upper bound of
 * their count when the timeout was right (Poisson with mean m = count·α): m + 3·√m + 1. More than
 * that in one interval is a shift, not a bias; the shifted requests are in the window now, so
 * the base quantile already answers for them, and counting each one would keep the timeout high
 * long after (each counted miss takes 1/α hits to undo).
 */
export function batchSaturation(count: number, alpha: number): number {
  const m = count * alpha;
  return Math.ceil(m + 3 * Math.sqrt(m) + 1);
}

export interface TrackerUpdate {
  correction: number;
  /** Exceedances that entered the update (after the batch saturation). */
  counted: number;
}

/**
 * Quantile tracking (Angelopoulos, Candès & Tibshirani 2023, the "P" of conformal PID; it is
 * also the integral of past errors, ACI's update in score space): every request since the last
 * computation moves the correction by γ·(err − α), err = 1 when it exceeded the timeout then in
 * force. The batch's misses are saturated (`batchSaturation`), and the correction is clamped to
 * `range`, the corrections whose timeout the bounds do not override (anti-windup: an integrator
 * that kept counting while the output sits at its limit would hold it there long after).
 */
export function trackerStep(
  correction: number,
  e: Exceedances,
  alpha: number,
  gamma: number,
  range: { min: number; max: number } = { min: -Infinity, max: Infinity },
): TrackerUpdate {
  const counted = Math.min(e.over, batchSaturation(e.count, alpha));
  // The order of hits and misses within a batch is not used: the sum of steps is the same and the
  // clip applies to the result (the timeout in force did not change within the batch).
  const next = correction + gamma * (counted - e.count * alpha);
  return { correction: Math.min(range.max, Math.max(range.min, next)), counted };
}
