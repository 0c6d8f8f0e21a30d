// Strategy `adaptive`: the window's 1 − α quantile plus an online-calibrated correction in duration space, bounded near the window's max.
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { InsufficientDataError, InvalidConfigError } from '../core/errors.ts';
import { readableCount, readableMs } from '../core/serving.ts';
import { orderStatistic, sortedCopy } from '../core/stats.ts';
import {
  exceedancesSince,
  readTrackerState,
  trackerStep,
  type Exceedances,
  type TrackerUpdate,
} from './calibration.ts';
import {
  histogramQuantile,
  histogramTotal,
  isHistogramOnly,
  summarizeHistogram,
  topFiniteBoundMs,
} from './histogram.ts';
import {
  DTACI_LEARNING_RATES,
  durationsSince,
  mixedCorrection,
  mixtureStep,
  readMixtureState,
  type MixtureState,
} from './mixture.ts';
import { percentileLabel } from './quantile.ts';
import { upperQuantile, withinReach } from './tail.ts';
import type { StrategyInput, StrategyResult, TimeoutStrategy } from './types.ts';

export const adaptiveOptionsSchema = z
  .object({
    /**
     * How the correction is learned: "mixture", one quantile tracker per rate of `learningRates`
     * and the served correction their mixture under exponential weights on each one's pinball
     * loss (DtACI, Gibbs & Candès 2024; `mixture.ts`; state `{v: 3, …}`), or "single", one tracker
     * of rate `gamma`, its misses saturated per computation (state `{v: 2, correction}`). A state
     * of the other shape restarts at correction 0. Default "mixture".
     */
    calibration: z.enum(['mixture', 'single']).default('mixture'),
    /**
     * The mixture's learning rates, in interquartile ranges (IQR) per unit of error. Default
     * DtACI's own grid, 0.001 · 2^k for k = 0..7 (0.001 … 0.128; `DTACI_LEARNING_RATES`).
     */
    learningRates: z
      .array(z.number().positive().max(1))
      .min(2)
      .max(16)
      .default([...DTACI_LEARNING_RATES]),
    /**
     * Learning rate of the single tracker (`calibration: "single"`), in IQR per unit of error: one
     * request above the timeout raises the correction by γ·(1 − α), one below lowers it by γ·α.
     * Default 0.1 (the default of conformal PID's quantile tracker, whose step is likewise
     * proportional to scale).
     */
    gamma: z.number().positive().max(1).default(0.1),
    /**
     * The tracker's unit: "iqr", the window's interquartile range (robust: a burst of up to 25 %
     * of the window does not change it), or "tail", the window's p(1−α) − median (larger steps
     * on heavy tails, but a burst inflates it and the correction with it). Default "iqr".
     */
    scale: z.enum(['iqr', 'tail']).default('iqr'),
    /** Fewest samples needed. Default 20. */
    minSamples: z.number().int().positive().default(20),
    /**
     * The computed timeout never exceeds the window's largest observation × this; the broker's
     * margin (× 1.1) comes on top. Default 1.25 (×): one decade of extrapolation of an exponential
     * tail above the max of a full window (1 + ln 10 / ln 5000 ≈ 1.27, rounded down).
     */
    maxOverMaxFactor: z.number().min(1).default(1.25),
    /** Share of the window taken as the tail when extrapolating beyond its reach. Default 0.1. */
    tailShare: z.number().gt(0).lt(1).default(0.1),
  })
  .strict();

export type AdaptiveOptions = z.infer<typeof adaptiveOptionsSchema>;

/** Smallest unit, as a share of the base quantile (a window of equal values has an IQR of 0). */
const MIN_WIDTH_SHARE = 0.01;

export function createAdaptiveStrategy(options: Partial<AdaptiveOptions> = {}): TimeoutStrategy {
  const opts = parseConfig(adaptiveOptionsSchema, options);
  // An option of the other calibration would be silently ignored: refuse it instead.
  if (opts.calibration === 'mixture' && options.gamma !== undefined)
    throw new InvalidConfigError([
      'gamma: applies to calibration "single" only (the mixture\'s rates are learningRates)',
    ]);
  if (opts.calibration === 'single' && options.learningRates !== undefined)
    throw new InvalidConfigError([
      'learningRates: apply to calibration "mixture" only (the single tracker\'s rate is gamma)',
    ]);
  return {
    name: 'adaptive',
    description: `window quantile + a correction calibrated online per request (${opts.calibration === 'mixture' ? `DtACI mixture of ${opts.learningRates.length} quantile trackers` : `quantile tracking, γ = ${opts.gamma}`}), at most ${opts.maxOverMaxFactor} × the window's max`,
    acceptsHistograms: true,
    compute(input: StrategyInput): StrategyResult {
      if (input.histogram && isHistogramOnly(input)) return histogramResult(input, opts);
      const n = input.durationsMs.length;
      if (n < opts.minSamples) throw new InsufficientDataError(input.endpoint, n, opts.minSamples);
      const alpha = input.alpha;
      const sorted = input.sortedMs ?? sortedCopy(input.durationsMs);
      const max = sorted[n - 1] as number;
      const bound = max * opts.maxOverMaxFactor;
      // The base (conformal PID's scorecaster): the window's own quantile; extrapolated only in
      // a window of fewer than 1/α values, and never above the bound.
      const extrapolated = !withinReach(n, alpha);
      const base = Math.min(bound, upperQuantile(sorted, alpha, opts.tailShare));
      // The tracker's unit: the interquartile range, a spread that 25 % of outliers (a burst, a
      // spike) do not move, so a correction learned before a shift is not multiplied by it.
      const median = orderStatistic(sorted, 0.5);
      const width = Math.max(
        opts.scale === 'tail'
          ? base - median
          : orderStatistic(sorted, 0.75) - orderStatistic(sorted, 0.25),
        MIN_WIDTH_SHARE * base,
      );

      // Anti-windup: the correction stays where it still moves the timeout (median ≤ T ≤ bound),
      // applied to a carried correction too (the window, hence the range, changed since).
      const range = {
        min: Math.min(0, (median - base) / width),
        max: Math.max(0, (bound - base) / width),
      };
      const clamp = (c: number) => Math.min(range.max, Math.max(range.min, c));
      const judged = input.previous && input.timestampsMs ? input.previous : undefined;
      let e: Exceedances | undefined;
      if (judged && input.timestampsMs)
        e = exceedancesSince(
          input.durationsMs,
          input.timestampsMs,
          judged.computedAtMs,
          judged.servedMs,
        );
      let before: number;
      let step: TrackerUpdate;
      let state: Record<string, unknown>;
      let mixNote = '';
      if (opts.calibration === 'mixture') {
        const rates = opts.learningRates;
        const prior = readMixtureState(input.previous?.state, rates.length).state;
        before = mixedCorrection(prior);
        let next: { corrections: number[]; weights: number[] } = {
          corrections: prior.corrections.map(clamp),
          weights: prior.weights,
        };
        if (judged && input.timestampsMs && prior.widthMs > 0) {
          const since = durationsSince(input.durationsMs, input.timestampsMs, judged.computedAtMs);
          next = mixtureStep(prior, since, judged.servedMs, sorted, alpha, rates, range);
        }
        const mixed: MixtureState = {
          v: 3,
          corrections: next.corrections,
          weights: next.weights,
          baseMs: base,
          widthMs: width,
        };
        step = { correction: mixedCorrection(mixed), counted: 0 };
        state = { ...mixed };
        mixNote = heaviestRate(rates, next.weights);
      } else {
        const prior = readTrackerState(input.previous?.state);
        before = prior.correction;
        step = { correction: clamp(prior.correction), counted: 0 };
        if (e) step = trackerStep(prior.correction, e, alpha, opts.gamma, range);
        state = { v: 2, correction: step.correction };
      }
      // At the bound exactly when the correction is at its upper end (or the base is the bound).
      const bounded = step.correction >= range.max - 1e-12;
      const raw = bounded ? bound : Math.max(median, base + width * step.correction);
      // Positive even for a window of zeros (a timeout of 0 would cut every call).
      const value = Math.max(raw, Number.MIN_VALUE);
      const reason = [
        `${percentileLabel(alpha)} of ${readableCount(n)} calls = ${readableMs(base)}${extrapolated ? ' (extrapolated above the max: window smaller than 1/α)' : ''}`,
        describeCorrection(
          opts.scale === 'tail' ? 'tail width' : 'IQR',
          step.correction,
          width,
          before,
          e,
          input.previous?.servedMs,
        ) +
          mixNote +
          // The corrected value, so that the margin the broker adds reads from a stated number.
          (bounded || raw === base ? '' : ` = ${readableMs(value)}`),
        bounded
          ? `capped at window max ${readableMs(max)} × ${opts.maxOverMaxFactor} = ${readableMs(bound)}`
          : '',
      ]
        .filter((s) => s !== '')
        .join('; ');
      return {
        timeoutMs: value,
        method: bounded ? 'tracked-quantile-bounded' : 'tracked-quantile',
        state,
        reason,
      };
    },
  };
}

/**
 * `adaptive` on a window of bucket counts (source prometheus): the same base, unit and bound read
 * from the histogram (quantiles interpolated in buckets, the max as the highest non-empty bucket's
 * upper bound). A histogram has no per-request times, so the requests since the last value
 * cannot be told apart: the carried correction is applied (clamped to the window's range) but not
 * updated. Above the highest finite bound nothing is known: the base is that bound, said so.
 */
function histogramResult(input: StrategyInput, opts: AdaptiveOptions): StrategyResult {
  const h = input.histogram as NonNullable<StrategyInput['histogram']>;
  const n = Math.round(histogramTotal(h));
  if (n < opts.minSamples) throw new InsufficientDataError(input.endpoint, n, opts.minSamples);
  const alpha = input.alpha;
  const q = (level: number) => histogramQuantile(h, level).valueMs;
  const max = summarizeHistogram(h).percentilesMs.max;
  const bound = max * opts.maxOverMaxFactor;
  const top = histogramQuantile(h, 1 - alpha);
  const base = Math.min(bound, top.inTopBucket ? topFiniteBoundMs(h) : top.valueMs);
  const median = q(0.5);
  const width = Math.max(
    opts.scale === 'tail' ? base - median : q(0.75) - q(0.25),
    MIN_WIDTH_SHARE * base,
  );
  const range = {
    min: Math.min(0, (median - base) / width),
    max: Math.max(0, (bound - base) / width),
  };
  const clamp = (c: number) => Math.min(range.max, Math.max(range.min, c));
  // With several learning rates the mixture's correction is carried (each expert clamped, the
  // weights held); the state keeps this window's base and scale for the next judged batch.
  let correction: number;
  let state: Record<string, unknown>;
  if (opts.calibration === 'mixture') {
    const prior = readMixtureState(input.previous?.state, opts.learningRates.length).state;
    const mixed: MixtureState = {
      v: 3,
      corrections: prior.corrections.map(clamp),
      weights: prior.weights,
      baseMs: base,
      widthMs: width,
    };
    correction = mixedCorrection(mixed);
    state = { ...mixed };
  } else {
    correction = clamp(readTrackerState(input.previous?.state).correction);
    state = { v: 2, correction };
  }
  const bounded = correction >= range.max - 1e-12 && correction > 0;
  const value = Math.max(
    bounded ? bound : Math.max(median, base + width * correction),
    Number.MIN_VALUE,
  );
  const label = percentileLabel(alpha);
  const reason = [
    top.inTopBucket
      ? `${label} of ${readableCount(n)} calls lies above the highest bucket bound: ` +
        `${readableMs(base)} (a lower bound of the true quantile)`
      : `${label} of ${readableCount(n)} calls (histogram buckets, interpolated) = ${readableMs(base)}`,
    correction !== 0
      ? `${correction >= 0 ? '+' : '−'} ${Math.abs(correction).toFixed(2)} × ` +
        `${opts.scale === 'tail' ? 'tail width' : 'IQR'} ${readableMs(width)} (held: a histogram ` +
        'has no per-request times)'
      : '',
    bounded
      ? `capped at window max ${readableMs(max)} × ${opts.maxOverMaxFactor} = ${readableMs(bound)}`
      : '',
  ]
    .filter((part) => part !== '')
    .join('; ');
  return {
    timeoutMs: value,
    method: top.inTopBucket ? 'histogram-top-bucket' : 'histogram-interpolation',
    state,
    reason,
  };
}

/** " (8 learning rates, heaviest γ = 0.064 at 41 %)": which expert the mixture mostly follows. */
function heaviestRate(rates: readonly number[], weights: readonly number[]): string {
  let best = 0;
  for (let i = 1; i < weights.length; i++)
    if ((weights[i] as number) > (weights[best] as number)) best = i;
  const share = Math.round(100 * (weights[best] as number));
  return ` (${rates.length} learning rates, heaviest γ = ${rates[best]} at ${share} %)`;
}

/** "+0.12 × IQR 48 ms (raised: 2 of 300 calls exceeded 510 ms)". */
function describeCorrection(
  unit: string,
  correction: number,
  width: number,
  before: number,
  e: Exceedances | undefined,
  servedMs: number | undefined,
): string {
  const sign = correction >= 0 ? '+' : '−';
  const amount = `${sign} ${Math.abs(correction).toFixed(2)} × ${unit} ${readableMs(width)}`;
  if (!e || e.count === 0 || servedMs === undefined)
    return `${amount} (no calls since the last value)`;
  const moved = correction > before ? 'raised' : correction < before ? 'lowered' : 'held';
  const share = `${readableCount(e.over)} of ${readableCount(e.count)} calls exceeded ${readableMs(servedMs)}`;
  return `${amount} (${moved}: ${share})`;
}
