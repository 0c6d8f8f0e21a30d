// Runs a strategy on a window the way the worker and the backtest both do: censoring first.
import { HistogramNotSupportedError } from '../core/errors.ts';
import { imputeCensored } from './censoring.ts';
import { isHistogramOnly } from './histogram.ts';
import type { StrategyInput, StrategyResult, TimeoutStrategy } from './types.ts';

export interface RunResult extends StrategyResult {
  /** Durations recognised as cut by the previous timeout and imputed. */
  censored: number;
}

export async function runStrategy(
  strategy: TimeoutStrategy,
  input: StrategyInput,
): Promise<RunResult> {
  // A window of bucket counts only: a strategy that reads durations would see an empty window
  // and answer its no-data value as if nothing had happened, so it is refused instead.
  if (isHistogramOnly(input) && strategy.acceptsHistograms !== true)
    throw new HistogramNotSupportedError(strategy.name);
  const { durationsMs, censored } = imputeCensored(
    input.durationsMs,
    input.timestampsMs,
    input.previous,
  );
  // A sorted copy the caller passed describes the window before imputation; drop it if that changed.
  const sortedMs = durationsMs === input.durationsMs ? input.sortedMs : undefined;
  const result = await strategy.compute({ ...input, durationsMs, sortedMs });
  return { ...result, censored };
}
