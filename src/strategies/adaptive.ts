// Strategy `adaptive`: a window quantile whose level is calibrated online by adaptive conformal inference.
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { InsufficientDataError } from '../core/errors.ts';
import { sortedCopy } from '../core/stats.ts';
import { upperQuantile } from './tail.ts';
import type { StrategyInput, StrategyResult, TimeoutStrategy } from './types.ts';

export const adaptiveOptionsSchema = z
  .object({
    /** Step size γ of the level update α_{t+1} = α_t + γ(α − err_t). Default 0.005. */
    gamma: z.number().positive().max(1).default(0.005),
    /** Fewest samples needed. Default 20. */
    minSamples: z.number().int().positive().default(20),
    /** The working level never goes above this multiple of α (stays a tail quantile). Default 10 (×). */
    maxLevelFactor: z.number().min(1).default(10),
    /** The working level never goes below α × this (keeps the estimate finite). Default 0.001 (×). */
    minLevelFactor: z.number().positive().max(1).default(0.001),
    /** Share of the window taken as the tail when extrapolating beyond its reach. Default 0.1. */
    tailShare: z.number().gt(0).lt(1).default(0.1),
  })
  .strict();

export type AdaptiveOptions = z.infer<typeof adaptiveOptionsSchema>;

/** Share of the requests since `sinceMs` that lasted longer than `timeoutMs`; undefined if none. */
export function exceedanceSince(
  durationsMs: ArrayLike<number>,
  timestampsMs: ArrayLike<number>,
  sinceMs: number,
  timeoutMs: number,
): { rate: number; count: number } | undefined {
  let n = 0;
  let over = 0;
  for (let i = durationsMs.length - 1; i >= 0 && (timestampsMs[i] as number) >= sinceMs; i--) {
    n++;
    if ((durationsMs[i] as number) > timeoutMs) over++;
  }
  return n === 0 ? undefined : { rate: over / n, count: n };
}

export function createAdaptiveStrategy(options: Partial<AdaptiveOptions> = {}): TimeoutStrategy {
  const opts = parseConfig(adaptiveOptionsSchema, options);
  return {
    name: 'adaptive',
    description: `quantile at a level calibrated online (adaptive conformal inference, γ = ${opts.gamma})`,
    compute(input: StrategyInput): StrategyResult {
      const all = input.durationsMs;
      const n = all.length;
      if (n < opts.minSamples) throw new InsufficientDataError(input.endpoint, n, opts.minSamples);
      const alpha = input.alpha;
      const prevLevel = input.previous?.state?.level;
      let level = typeof prevLevel === 'number' && Number.isFinite(prevLevel) ? prevLevel : alpha;
      let observed: number | undefined;
      if (input.previous && input.timestampsMs) {
        const e = exceedanceSince(
          all,
          input.timestampsMs,
          input.previous.computedAtMs,
          input.previous.servedMs,
        );
        if (e) {
          observed = e.rate;
          level += opts.gamma * (alpha - e.rate);
        }
      }
      level = Math.min(alpha * opts.maxLevelFactor, Math.max(alpha * opts.minLevelFactor, level));
      const value = upperQuantile(input.sortedMs ?? sortedCopy(all), level, opts.tailShare);
      return {
        timeoutMs: value,
        method: 'aci-quantile',
        state: { level, ...(observed === undefined ? {} : { observedRate: observed }) },
      };
    },
  };
}
