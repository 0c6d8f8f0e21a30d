// Censoring: spans of calls cut by a timeout record the timeout, not the latency; never read them as fast.

/** A recorded duration this close to the timeout in force counts as cut by it. */
export interface CensoringOptions {
  /** Lower edge as a share of the timeout (clients may stop a hair early). Default 0.999. */
  lowerFactor: number;
  /** Upper edge: timeout × upperFactor + upperSlackMs (cancellation takes a moment). Default 1.02. */
  upperFactor: number;
  /** Default 2 (ms). */
  upperSlackMs: number;
}

export const DEFAULT_CENSORING: Readonly<CensoringOptions> = Object.freeze({
  lowerFactor: 0.999,
  upperFactor: 1.02,
  upperSlackMs: 2,
});

/**
 * Indices of durations that were most likely cut by the timeout then in force: requests that
 * started after the previous computation and lasted (about) exactly that timeout.
 */
export function censoredIndices(
  durationsMs: ArrayLike<number>,
  timestampsMs: ArrayLike<number> | undefined,
  timeoutMs: number,
  sinceMs: number,
  opts: CensoringOptions = DEFAULT_CENSORING,
): number[] {
  if (!timestampsMs || !(timeoutMs > 0)) return [];
  const lo = timeoutMs * opts.lowerFactor;
  const hi = timeoutMs * opts.upperFactor + opts.upperSlackMs;
  const out: number[] = [];
  for (let i = durationsMs.length - 1; i >= 0; i--) {
    if ((timestampsMs[i] as number) < sinceMs) break; // oldest first: nothing earlier was in force
    const d = durationsMs[i] as number;
    if (d >= lo && d <= hi) out.push(i);
  }
  return out;
}

/** Stand-in for a cut request: it lasted at least the timeout; we assume twice it (as TCP backs off). */
export const CENSORED_IMPUTE_FACTOR = 2;

/**
 * A copy of the window where every duration cut by the previous timeout is replaced by
 * `CENSORED_IMPUTE_FACTOR ×` that timeout, so no strategy reads a cut call as a fast one.
 * Answers the window unchanged (same object) when nothing was cut.
 */
export function imputeCensored(
  durationsMs: ArrayLike<number>,
  timestampsMs: ArrayLike<number> | undefined,
  previous: { servedMs: number; computedAtMs: number } | undefined,
): { durationsMs: ArrayLike<number>; censored: number } {
  if (!previous) return { durationsMs, censored: 0 };
  const idx = censoredIndices(durationsMs, timestampsMs, previous.servedMs, previous.computedAtMs);
  if (idx.length === 0) return { durationsMs, censored: 0 };
  const copy = Float64Array.from(durationsMs);
  for (const i of idx) copy[i] = previous.servedMs * CENSORED_IMPUTE_FACTOR;
  return { durationsMs: copy, censored: idx.length };
}
