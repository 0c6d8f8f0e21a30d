// Strategy names without the strategies: what --help, config validation and the broker need, at no import cost.

/** The product's default strategy (chosen from the backtest evidence in docs/strategies.md). */
export const DEFAULT_STRATEGY = 'adaptive';

/**
 * Every built-in strategy, in the registry's order. The registry (`registry.ts`) builds them; a
 * test checks that it registers exactly these. Kept apart so that the CLI and the broker, which
 * never build a strategy, can check a name without loading the strategies (and piscina/tfjs).
 */
export const BUILT_IN_STRATEGIES = ['sigma', 'quantile', 'rto', 'adaptive', 'seed'] as const;

/** Strategies too slow to compare by default (neural forecasters). */
export const NEURAL_STRATEGIES: ReadonlySet<string> = new Set(['seed']);

/**
 * Why `name` is not a built-in strategy, naming the known ones; undefined when it is one. `seed`
 * counts as known even when its optional dependency is missing: that is reported when it runs.
 */
export function strategyNameProblem(
  name: string,
  known: readonly string[] = BUILT_IN_STRATEGIES,
): string | undefined {
  return known.includes(name)
    ? undefined
    : `unknown strategy "${name.slice(0, 64)}" (known: ${known.join(', ')})`;
}
