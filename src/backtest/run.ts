// A whole backtest: every endpoint through every strategy, scored and pooled into one report.
import type { ServingOptions } from '../core/serving.ts';
import { createStrategy } from '../strategies/registry.ts';
import { poolScores, type StrategyScore } from './metrics.ts';
import { replayEndpoint, type EndpointSeries, type ReplayOptions } from './replay.ts';

export interface BacktestOptions extends ReplayOptions {
  strategies: readonly string[];
  /** Options per strategy name. */
  strategyOptions?: Record<string, Record<string, unknown>>;
  defaultStrategy: string;
}

export interface EndpointReport {
  endpoint: string;
  requests: number;
  warmup: number;
  judged: number;
  hindsightQuantileMs: number;
  strategies: Record<string, StrategyScore>;
}

export interface BacktestReport {
  alpha: number;
  recomputeS: number | null;
  recomputeEvery: number | null;
  windowHours: number;
  windowLimit: number;
  warmupCount: number;
  censor: boolean;
  serving: ServingOptions;
  defaultStrategy: string;
  strategies: string[];
  records: number;
  overall: Record<string, StrategyScore>;
  endpoints: EndpointReport[];
}

/** Per-endpoint chart data, kept out of the JSON report. */
export interface EndpointChart {
  endpoint: string;
  timestampsMs: Float64Array | undefined;
  durationsMs: Float64Array;
  atMs: number[];
  servedMs: Record<string, number[]>;
  /** The window's 1 − α order statistic at each recompute (the shift reference of `recovery`). */
  referenceMs: number[];
}

export async function runBacktest(
  series: readonly EndpointSeries[],
  opts: BacktestOptions,
  onProgress?: (done: number, total: number, endpoint: string) => void,
): Promise<{ report: BacktestReport; charts: EndpointChart[] }> {
  const total = series.reduce((s, e) => s + e.durationsMs.length, 0);
  const parts = new Map<string, Parameters<typeof poolScores>[0]>(
    opts.strategies.map((s) => [s, []]),
  );
  const endpoints: EndpointReport[] = [];
  const charts: EndpointChart[] = [];
  let before = 0;
  for (const s of series) {
    // Fresh strategy objects per endpoint: no state may leak from one endpoint to another.
    const runs = opts.strategies.map((name) => ({
      name,
      strategy: createStrategy(name, opts.strategyOptions?.[name]),
    }));
    const r = await replayEndpoint(s, runs, opts, (done) =>
      onProgress?.(before + done, total, s.endpoint),
    );
    before += s.durationsMs.length;
    endpoints.push({
      endpoint: r.endpoint,
      requests: r.requests,
      warmup: r.warmup,
      judged: r.judged,
      hindsightQuantileMs: r.hindsightQuantileMs,
      strategies: r.scores,
    });
    for (const name of opts.strategies) {
      parts.get(name)?.push({
        score: r.scores[name] as StrategyScore,
        hindsightQuantileMs: r.hindsightQuantileMs,
        timeouts: r.judgedTimeouts[name] ?? [],
        ...r.shapes[name],
      });
    }
    charts.push({
      endpoint: s.endpoint,
      timestampsMs: s.timestampsMs,
      durationsMs: s.durationsMs,
      ...r.timeline,
    });
  }
  const overall: Record<string, StrategyScore> = {};
  for (const [name, p] of parts) overall[name] = poolScores(p);
  return {
    report: {
      alpha: opts.alpha,
      recomputeS: opts.recomputeEvery === undefined ? opts.recomputeMs / 1000 : null,
      recomputeEvery: opts.recomputeEvery ?? null,
      windowHours: opts.windowHours,
      windowLimit: opts.windowLimit,
      warmupCount: opts.warmupCount,
      censor: opts.censor,
      serving: opts.serving,
      defaultStrategy: opts.defaultStrategy,
      strategies: [...opts.strategies],
      records: total,
      overall,
      endpoints,
    },
    charts,
  };
}
