// Runs a strategy on a window the way the worker and the backtest both do: censoring first.
import { imputeCensored } from './censoring.ts';
import type { StrategyInput, StrategyResult, TimeoutStrategy } from './types.ts';

export interface RunResult extends StrategyResult {
  /** Durations recognised as cut by the previous timeout and imputed. */
  censored: number;
}

export async function runStrategy(
  strategy: TimeoutStrategy,
  input: StrategyInput,
): Promise<RunResult> {
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
