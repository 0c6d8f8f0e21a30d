// The TimeoutStrategy seam: turns one endpoint's window of durations into a timeout.

/** What a strategy sees for one computation. */
export interface StrategyInput {
  /** Endpoint name, for messages. */
  endpoint: string;
  /** The window's durations in ms, oldest first. */
  durationsMs: readonly number[];
  /** Target false-timeout rate α (0 < α < 1). Default 0.001. */
  alpha: number;
}

/** What a strategy answers. */
export interface StrategyResult {
  /** The computed (unserved) timeout in ms: finite and > 0. */
  timeoutMs: number;
  /** How the value was obtained, e.g. "order-statistic", "mean+k·sd", "no-data-rule". */
  method: string;
}

export interface TimeoutStrategy {
  /** Registered name, e.g. "sigma". */
  readonly name: string;
  /** One-line description for `--help` and docs. */
  readonly description: string;
  compute(input: StrategyInput): StrategyResult | Promise<StrategyResult>;
}

/** Builds a strategy from its options (each strategy validates its own). */
export type StrategyFactory = (options?: Record<string, unknown>) => TimeoutStrategy;
