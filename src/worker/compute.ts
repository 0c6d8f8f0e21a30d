// One timeout computation: read the window from the source, run the strategy, summarise.
import { assertEndpointName } from '../core/endpoint-name.ts';
import { MAX_STRATEGY_REASON_CHARS } from '../core/serving.ts';
import { sortedCopy, summarize } from '../core/stats.ts';
import { summarizeHistogram } from '../strategies/histogram.ts';
import { createStrategy } from '../strategies/registry.ts';
import { runStrategy } from '../strategies/run.ts';
import type { ComputeJob, ComputeResult } from '../protocol/worker-api.ts';
import type { TimeoutStrategy } from '../strategies/types.ts';
import type { LatencySource } from '../sources/types.ts';
import type { WorkerConfig } from './config.ts';

export class Computer {
  private readonly strategies = new Map<string, TimeoutStrategy>();

  constructor(
    private readonly config: Readonly<WorkerConfig>,
    private readonly source: LatencySource,
  ) {
    // Built now so that a bad default strategy or option fails at start-up, not on a job.
    this.strategy(config.strategy);
  }

  /**
   * The longest time budget (ms) among the default strategy and every strategy given options,
   * announced to the broker so that its call timeout fits any job a per-endpoint setting may
   * name; undefined when all of them are fast.
   */
  get maxJobMs(): number | undefined {
    const names = new Set([this.config.strategy, ...Object.keys(this.config.strategyOptions)]);
    const budgets = [...names].map((n) => this.strategy(n).budgetMs).filter((b) => b !== undefined);
    return budgets.length > 0 ? Math.max(...budgets) : undefined;
  }

  /**
   * Why the default strategy cannot compute from this worker's source (it needs durations, the
   * source gives histograms), for a warning at start; undefined when it can.
   */
  get histogramMismatch(): string | undefined {
    if (this.source.histograms !== true) return undefined;
    const s = this.strategy(undefined);
    if (s.acceptsHistograms === true) return undefined;
    return (
      `strategy ${s.name} needs individual durations and source ${this.source.name} gives ` +
      'histograms: jobs that name no other strategy will fail with HISTOGRAM_NOT_SUPPORTED ' +
      '(use --strategy quantile)'
    );
  }

  /** Releases what the strategies hold (the seed forecaster's training threads). */
  async close(): Promise<void> {
    const strategies = [...this.strategies.values()];
    this.strategies.clear();
    await Promise.all(strategies.map((s) => s.close?.() ?? Promise.resolve()));
  }

  /** The named strategy (built once, with its configured options); the default when unnamed. */
  private strategy(name: string | undefined): TimeoutStrategy {
    const key = name ?? this.config.strategy;
    let s = this.strategies.get(key);
    if (!s) {
      s = createStrategy(key, this.config.strategyOptions[key]);
      this.strategies.set(key, s);
    }
    return s;
  }

  /** Runs one job (`POST /v1/compute`, src/protocol/worker-api.ts) and answers its result. */
  async compute(req: ComputeJob): Promise<ComputeResult> {
    const started = performance.now();
    const endpoint = assertEndpointName(req.endpoint);
    const strategy = this.strategy(req.strategy);
    const alpha = req.alpha ?? this.config.alpha;
    const { durationsMs, timestampsMs, histogram } = await this.source.fetchWindow(endpoint, {
      windowHours: this.config.windowHours,
      limit: this.config.windowLimit,
    });
    // One sort serves the summary and the strategy (a sort is most of a quantile job's own CPU).
    const sortedMs = sortedCopy(durationsMs);
    const result = await runStrategy(strategy, {
      endpoint,
      durationsMs,
      sortedMs,
      timestampsMs,
      // Bucket counts (source prometheus): only strategies that read them are run on them.
      histogram,
      alpha,
      nowMs: Date.now(),
      previous: req.previous,
    });
    return {
      endpoint,
      timeoutMs: result.timeoutMs,
      strategy: strategy.name,
      method: result.method,
      censored: result.censored,
      ...(result.state ? { state: result.state } : {}),
      ...(result.placeholder === true ? { placeholder: true as const } : {}),
      // Bounded as the protocol bounds it, so that a wordy strategy cannot get its value refused.
      ...(result.reason ? { reason: result.reason.slice(0, MAX_STRATEGY_REASON_CHARS) } : {}),
      alpha,
      source: this.source.name,
      ...(histogram && durationsMs.length === 0
        ? summarizeHistogram(histogram)
        : summarize(durationsMs, sortedMs)),
      computeMs: performance.now() - started,
    };
  }
}
