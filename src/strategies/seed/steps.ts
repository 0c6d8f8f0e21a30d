// The original's forecasting steps (SPEC §2, worker steps 2–5) as pure functions, without tfjs.
import { mean } from '../../core/stats.ts';

/** Values per training window (the model's input): 8. */
export const WINDOW_LENGTH = 8;
/** Each window is 2 sub-sequences of 4 steps with 1 feature: the model's input shape [2, 1, 4, 1]. */
export const INPUT_SHAPE = [2, 1, 4, 1] as const;

/** z = (d − mean) / scaleMs for every duration, oldest first. */
export function normalise(durationsMs: ArrayLike<number>, meanMs: number, scaleMs: number) {
  const z = new Float32Array(durationsMs.length);
  for (let i = 0; i < z.length; i++) z[i] = ((durationsMs[i] as number) - meanMs) / scaleMs;
  return z;
}

/** The inverse of `normalise` for one value: ŷ · scaleMs + mean. */
export function denormalise(z: number, meanMs: number, scaleMs: number): number {
  return z * scaleMs + meanMs;
}

/**
 * Splits a normalised series as the original does: the 8 values just before the last one are the
 * prediction input and are taken out of the training sequence (which keeps everything else,
 * the last value included). Needs at least 9 values.
 */
export function holdOut(z: Float32Array): { sequence: Float32Array; input: Float32Array } {
  const n = z.length;
  if (n < WINDOW_LENGTH + 1)
    throw new RangeError(`holdOut needs ${WINDOW_LENGTH + 1} values, got ${n}`);
  const start = n - 1 - WINDOW_LENGTH; // input = z[n − 9 … n − 2]
  const input = z.slice(start, n - 1);
  const sequence = new Float32Array(n - WINDOW_LENGTH);
  sequence.set(z.subarray(0, start), 0);
  sequence[start] = z[n - 1] as number;
  return { sequence, input };
}

/**
 * Every 8 consecutive values → the value after them. `x` holds the windows one after the other
 * (count × 8 values), which is exactly the row-major layout of [count, 2, 1, 4, 1].
 */
export function trainingPairs(sequence: ArrayLike<number>): {
  x: Float32Array;
  y: Float32Array;
  count: number;
} {
  const count = Math.max(0, sequence.length - WINDOW_LENGTH);
  const x = new Float32Array(count * WINDOW_LENGTH);
  const y = new Float32Array(count);
  for (let s = 0; s < count; s++) {
    for (let j = 0; j < WINDOW_LENGTH; j++) x[s * WINDOW_LENGTH + j] = sequence[s + j] as number;
    y[s] = sequence[s + WINDOW_LENGTH] as number;
  }
  return { x, y, count };
}

/**
 * The original's negative-prediction rule: while the prediction is not positive, add
 * mean + 2·sd (`stepMs`). Closed form, so a very negative prediction costs no loop.
 * Returns NaN when `stepMs` ≤ 0 (no number of steps would make it positive).
 */
export function applyNegativeRule(predictedMs: number, stepMs: number): number {
  if (predictedMs > 0) return predictedMs;
  if (!(stepMs > 0)) return Number.NaN;
  let p = predictedMs + (Math.floor(-predictedMs / stepMs) + 1) * stepMs;
  while (p <= 0) p += stepMs; // floating-point rounding only
  return p;
}

/** What a forecast needs: the series trained on, the input, and the window's statistics. */
export interface ForecastPlan {
  /** Mean of the whole window (ms): normalisation centre. */
  meanMs: number;
  /** Normalised training sequence (the held-out input removed). */
  sequence: Float32Array;
  /** The 8 normalised values the prediction is made from. */
  input: Float32Array;
}

/**
 * Steps 2 and 4 up to the model: mean over the whole window, the most recent `maxSamples`
 * durations normalised, the prediction input held out. Call only with ≥ 9 durations.
 */
export function planForecast(
  durationsMs: ArrayLike<number>,
  opts: { maxSamples: number; scaleMs: number },
): ForecastPlan {
  const meanMs = mean(durationsMs);
  const n = durationsMs.length;
  const from = Math.max(0, n - opts.maxSamples);
  const recent = Array.prototype.slice.call(durationsMs, from) as number[];
  const { sequence, input } = holdOut(normalise(recent, meanMs, opts.scaleMs));
  return { meanMs, sequence, input };
}
