// Named registry of timeout strategies (as bullmq's named backoff strategies); built-ins included.
import { UnknownStrategyError } from '../core/errors.ts';
import { createAdaptiveStrategy } from './adaptive.ts';
import { createQuantileStrategy } from './quantile.ts';
import { createRtoStrategy } from './rto.ts';
import { createSeedStrategy } from './seed/strategy.ts';
import { createSigmaStrategy } from './sigma.ts';
import type { StrategyFactory, TimeoutStrategy } from './types.ts';
import { DEFAULT_STRATEGY, NEURAL_STRATEGIES } from './names.ts';

const factories = new Map<string, StrategyFactory>([
  ['sigma', (o) => createSigmaStrategy(o)],
  ['quantile', (o) => createQuantileStrategy(o)],
  ['rto', (o) => createRtoStrategy(o)],
  ['adaptive', (o) => createAdaptiveStrategy(o)],
  ['seed', (o) => createSeedStrategy(o)],
]);

// Declared in names.ts (no imports) so that the CLI's --help and the broker need not load strategies.
export { DEFAULT_STRATEGY };

/** Every registered strategy a backtest compares when none are named. */
export function comparableStrategyNames(): string[] {
  return strategyNames().filter((n) => !NEURAL_STRATEGIES.has(n));
}

/** Adds (or replaces) a strategy under `name`, for plugins and tests. */
export function registerStrategy(name: string, factory: StrategyFactory): void {
  factories.set(name, factory);
}

export function strategyNames(): string[] {
  return [...factories.keys()];
}

/** Builds the named strategy; throws UnknownStrategyError naming the known ones. */
export function createStrategy(name: string, options?: Record<string, unknown>): TimeoutStrategy {
  const factory = factories.get(name);
  if (!factory) throw new UnknownStrategyError(name, strategyNames());
  return factory(options);
}
