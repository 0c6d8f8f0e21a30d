// One timeout computation: read the window from the source, run the strategy, summarise.
import { assertEndpointName } from '../core/endpoint-name.ts';
import { summarize, type WindowSummary } from '../core/stats.ts';
import { createStrategy } from '../strategies/registry.ts';
import type { TimeoutStrategy } from '../strategies/types.ts';
import type { LatencySource } from '../sources/types.ts';
import type { WorkerConfig } from './config.ts';

/** A job as the broker sends it (`POST /v1/compute`). */
export interface ComputeRequest {
  endpoint: string;
  /** Target false-timeout rate; the worker's default when absent. */
  alpha?: number;
  /** Strategy name; the worker's default when absent. */
  strategy?: string;
}

/** The worker's answer. Durations in ms. */
export interface ComputeResult extends WindowSummary {
  endpoint: string;
  timeoutMs: number;
  strategy: string;
  method: string;
  alpha: number;
  source: string;
  computeMs: number;
}

export class Computer {
  private readonly defaultStrategy: TimeoutStrategy;
  private readonly strategies = new Map<string, TimeoutStrategy>();

  constructor(
    private readonly config: Readonly<WorkerConfig>,
    private readonly source: LatencySource,
  ) {
    this.defaultStrategy = createStrategy(config.strategy, config.strategyOptions);
  }

  private strategy(name: string | undefined): TimeoutStrategy {
    if (name === undefined || name === this.defaultStrategy.name) return this.defaultStrategy;
    let s = this.strategies.get(name);
    if (!s) {
      s = createStrategy(name);
      this.strategies.set(name, s);
    }
    return s;
  }

  async compute(req: ComputeRequest): Promise<ComputeResult> {
    const started = performance.now();
    const endpoint = assertEndpointName(req.endpoint);
    const strategy = this.strategy(req.strategy);
    const alpha = req.alpha ?? this.config.alpha;
    const durationsMs = await this.source.fetchDurations(endpoint, {
      windowHours: this.config.windowHours,
      limit: this.config.windowLimit,
    });
    const result = await strategy.compute({ endpoint, durationsMs, alpha });
    return {
      endpoint,
      timeoutMs: result.timeoutMs,
      strategy: strategy.name,
      method: result.method,
      alpha,
      source: this.source.name,
      ...summarize(durationsMs),
      computeMs: performance.now() - started,
    };
  }
}
