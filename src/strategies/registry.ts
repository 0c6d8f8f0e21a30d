// Named registry of timeout strategies (as bullmq's named backoff strategies); built-ins included.
import { UnknownStrategyError } from '../core/errors.ts';
import { createQuantileStrategy } from './quantile.ts';
import { createSigmaStrategy } from './sigma.ts';
import type { StrategyFactory, TimeoutStrategy } from './types.ts';

const factories = new Map<string, StrategyFactory>([
  ['sigma', (o) => createSigmaStrategy(o)],
  ['quantile', (o) => createQuantileStrategy(o)],
]);

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
