// Named registry of timeout strategies (as bullmq's named backoff strategies); built-ins included.
import { UnknownStrategyError } from '../core/errors.ts';
import { createAdaptiveStrategy } from './adaptive.ts';
import { createQuantileStrategy } from './quantile.ts';
import { createRtoStrategy } from './rto.ts';
import { createSeedStrategy } from './seed/strategy.ts';
import { createSigmaStrategy } from './sigma.ts';
import type { StrategyFactory, TimeoutStrategy } from './types.ts';

const factories = new Map<string, StrategyFactory>([
  ['sigma', (o) => createSigmaStrategy(o)],
  ['quantile', (o) => createQuantileStrategy(o)],
  ['rto', (o) => createRtoStrategy(o)],
  ['adaptive', (o) => createAdaptiveStrategy(o)],
  ['seed', (o) => createSeedStrategy(o)],
]);

/** The product's default strategy (chosen from the backtest evidence in docs/strategies.md). */
export const DEFAULT_STRATEGY = 'adaptive';

/** Strategies too slow to compare by default (neural forecasters). */
const NEURAL = new Set<string>(['seed']);

/** Every registered strategy a backtest compares when none are named. */
export function comparableStrategyNames(): string[] {
  return strategyNames().filter((n) => !NEURAL.has(n));
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
