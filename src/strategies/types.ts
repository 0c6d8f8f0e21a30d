// The TimeoutStrategy seam: turns one endpoint's window of durations into a timeout.
import type { LatencyHistogram } from '../sources/types.ts';

/** What the broker remembers of an endpoint's last computation and sends with the next job. */
export interface PreviousComputation {
  /** The timeout served (in force) since that computation, in ms. */
  servedMs: number;
  /** When it was computed (epoch ms); requests that started after it were judged against servedMs. */
  computedAtMs: number;
  /** Whatever the strategy returned as `state` last time (e.g. its calibration level). */
  state?: Record<string, unknown> | undefined;
}

/** What a strategy sees for one computation. */
export interface StrategyInput {
  /** Endpoint name, for messages. */
  endpoint: string;
  /** The window's durations in ms, oldest first. */
  durationsMs: ArrayLike<number>;
  /**
   * The same durations sorted ascending, when the caller already has them (the worker sorts
   * once for its summary); strategies that need order statistics read it instead of sorting
   * again. When given, it must hold exactly the values of `durationsMs`.
   */
  sortedMs?: ArrayLike<number> | undefined;
  /** Start time (epoch ms) of each duration, same order; absent when the source has none. */
  timestampsMs?: ArrayLike<number> | undefined;
  /**
   * The window as bucket counts (source prometheus); `durationsMs` is then empty. Strategies
   * that read it declare `acceptsHistograms`; the others are refused it (strategies/run.ts).
   */
  histogram?: LatencyHistogram | undefined;
  /** Target false-timeout rate α (0 < α < 1). Default 0.001. */
  alpha: number;
  /** Time of this computation (epoch ms; trace time in a backtest). Default Date.now(). */
  nowMs?: number | undefined;
  /** The endpoint's previous computation, when there was one. */
  previous?: PreviousComputation | undefined;
}

/** What a strategy answers. */
export interface StrategyResult {
  /** The computed (unserved) timeout in ms: finite and > 0. */
  timeoutMs: number;
  /** How the value was obtained, e.g. "order-statistic", "mean+k·sd", "no-data-rule". */
  method: string;
  /** State to hand back with the next computation (kept by the broker, opaque to it). */
  state?: Record<string, unknown> | undefined;
  /**
   * True when the value is not derived from observed durations (the no-data rule): it is served
   * like any value, but the next value is not damped against it (`dampingBase` in
   * core/serving.ts). Default false.
   */
  placeholder?: boolean | undefined;
  /**
   * The strategy's own part of the value's reason, in words, at most ~200 characters, e.g.
   * "p99.9 of 3 420 calls = 4.9 s". The broker adds what damping, the margin and clamps did
   * (`servingReason` in core/serving.ts). Default: none (the broker then names the number only).
   */
  reason?: string | undefined;
}

export interface TimeoutStrategy {
  /** Registered name, e.g. "sigma". */
  readonly name: string;
  /** One-line description for `--help` and docs. */
  readonly description: string;
  /**
   * Longest one computation may take (ms), for strategies that train or search under a time
   * budget; the worker announces it so that the broker's call timeout fits. Default: none.
   */
  readonly budgetMs?: number;
  /**
   * True when `compute` reads `input.histogram` (a window of bucket counts without durations).
   * Others are refused such a window with HISTOGRAM_NOT_SUPPORTED (runStrategy). Default false.
   */
  readonly acceptsHistograms?: boolean;
  compute(input: StrategyInput): StrategyResult | Promise<StrategyResult>;
  /** Releases what the strategy holds (e.g. training threads); the worker calls it on shutdown. */
  close?(): Promise<void>;
}

/** Builds a strategy from its options (each strategy validates its own). */
export type StrategyFactory = (options?: Record<string, unknown>) => TimeoutStrategy;
