// Strategy `rto`: TCP's retransmission timeout (RFC 6298) replayed over the window.
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { InsufficientDataError } from '../core/errors.ts';
import { readableCount, readableMs } from '../core/serving.ts';
import { refuseHistogram } from './histogram.ts';
import type { StrategyInput, StrategyResult, TimeoutStrategy } from './types.ts';

export const rtoOptionsSchema = z
  .object({
    /** Gain of the smoothed RTT (RFC 6298 α). Default 0.125. */
    gain: z
      .number()
      .gt(0)
      .lt(1)
      .default(1 / 8),
    /** Gain of the RTT variation (RFC 6298 β). Default 0.25. */
    varianceGain: z
      .number()
      .gt(0)
      .lt(1)
      .default(1 / 4),
    /** Multiplier K on RTTVAR (RFC 6298: 4; SLO-tuned variants use more). Default 4. */
    k: z.number().positive().default(4),
  })
  .strict();

export type RtoOptions = z.infer<typeof rtoOptionsSchema>;

/** SRTT + k·RTTVAR after feeding every duration in order (RFC 6298 §2, without the 1 s floor). */
export function rtoOf(durationsMs: ArrayLike<number>, opts: RtoOptions): number {
  const { srtt, rttvar } = rttEstimates(durationsMs, opts);
  return srtt + opts.k * rttvar;
}

/** SRTT and RTTVAR after feeding every duration in order (RFC 6298 §2). */
export function rttEstimates(
  durationsMs: ArrayLike<number>,
  opts: RtoOptions,
): { srtt: number; rttvar: number } {
  let srtt = durationsMs[0] as number;
  let rttvar = srtt / 2;
  for (let i = 1; i < durationsMs.length; i++) {
    const r = durationsMs[i] as number;
    rttvar = (1 - opts.varianceGain) * rttvar + opts.varianceGain * Math.abs(srtt - r);
    srtt = (1 - opts.gain) * srtt + opts.gain * r;
  }
  return { srtt, rttvar };
}

export function createRtoStrategy(options: Partial<RtoOptions> = {}): TimeoutStrategy {
  const opts = parseConfig(rtoOptionsSchema, options);
  return {
    name: 'rto',
    description: `TCP retransmission timeout (RFC 6298): SRTT + ${opts.k}·RTTVAR over the window`,
    compute(input: StrategyInput): StrategyResult {
      refuseHistogram('rto', input);
      if (input.durationsMs.length === 0) throw new InsufficientDataError(input.endpoint, 0, 1);
      const { srtt, rttvar } = rttEstimates(input.durationsMs, opts);
      const value = srtt + opts.k * rttvar;
      return {
        timeoutMs: value,
        method: 'rfc6298',
        reason:
          `SRTT ${readableMs(srtt)} + ${opts.k} × RTTVAR ${readableMs(rttvar)} over ` +
          `${readableCount(input.durationsMs.length)} calls = ${readableMs(value)} (RFC 6298)`,
      };
    },
  };
}
