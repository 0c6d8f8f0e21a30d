// Replays one endpoint's recorded durations through strategies, exactly as SPEC §3 describes.
import { nextStoredMs, servedTimeout, type ServingOptions } from '../core/serving.ts';
import { orderStatistic, sortedCopy } from '../core/stats.ts';
import { runStrategy } from '../strategies/run.ts';
import type { PreviousComputation, TimeoutStrategy } from '../strategies/types.ts';
import { recoveryCounts, ScoreAccumulator, type StrategyScore } from './metrics.ts';

/** One endpoint's requests in time order. Times are start times (epoch ms), durations in ms. */
export interface EndpointSeries {
  endpoint: string;
  timestampsMs: Float64Array | undefined;
  durationsMs: Float64Array;
}

export interface ReplayOptions {
  /** Target false-timeout rate. */
  alpha: number;
  /** Recompute every this much trace time (ms). Default 60000. */
  recomputeMs: number;
  /** Without timestamps (or when set), recompute every this many requests instead. */
  recomputeEvery: number | undefined;
  /** Window: the last this many hours before the recompute point. Default 48. */
  windowHours: number;
  /** Window: at most this many most recent durations. Default 5000. */
  windowLimit: number;
  /** Requests are judged from the first recompute whose window holds at least this many. Default 50. */
  warmupCount: number;
  /** Damping, margin, clamps and default — the broker's own rules. */
  serving: ServingOptions;
  /** Simulate the deployment: a judged request longer than its timeout is recorded at the timeout. */
  censor: boolean;
}

export interface StrategyRun {
  name: string;
  strategy: TimeoutStrategy;
}

export interface EndpointReplay {
  endpoint: string;
  requests: number;
  /** Requests before the first judged recompute (excluded from the scores). */
  warmup: number;
  judged: number;
  hindsightQuantileMs: number;
  scores: Record<string, StrategyScore>;
  /** Served timeouts per strategy, in judged order (for pooled medians). */
  judgedTimeouts: Record<string, readonly number[]>;
  /** Per strategy: served ÷ window max per recompute, and recovery counts (for pooling). */
  shapes: Record<string, { overshoots: readonly number[]; recoveries: readonly number[] }>;
  /**
   * Recompute points (ms or request index), each strategy's served value from there on, and the
   * window's 1 − α order statistic there (uncensored; the strategy-independent shift reference).
   */
  timeline: { atMs: number[]; servedMs: Record<string, number[]>; referenceMs: number[] };
}

interface StrategyState {
  stored: number | undefined;
  /** The stored value is a no-data placeholder (the next one is not damped against it). */
  placeholder: boolean;
  previous: PreviousComputation | undefined;
  served: number;
  acc: ScoreAccumulator;
  /** Durations as this strategy's deployment would have recorded them (only when censoring). */
  recorded: Float64Array | undefined;
}

/** Replays one endpoint; `onProgress` gets the number of requests done at each recompute point. */
export async function replayEndpoint(
  series: EndpointSeries,
  strategies: readonly StrategyRun[],
  opts: ReplayOptions,
  onProgress?: (done: number) => void,
): Promise<EndpointReplay> {
  const { durationsMs: d } = series;
  const n = d.length;
  const byCount = opts.recomputeEvery !== undefined || series.timestampsMs === undefined;
  const every = opts.recomputeEvery ?? 100;
  // Without timestamps, request indices stand in for time (the window is then count-limited only).
  const ts = series.timestampsMs ?? Float64Array.from({ length: n }, (_, i) => i);
  const windowMs = opts.windowHours * 3_600_000;

  const states = new Map<string, StrategyState>(
    strategies.map((s) => [
      s.name,
      {
        stored: undefined,
        placeholder: false,
        previous: undefined,
        served: opts.serving.defaultTimeoutMs,
        acc: new ScoreAccumulator(opts.alpha),
        recorded: opts.censor ? Float64Array.from(d) : undefined,
      },
    ]),
  );
  const timeline: EndpointReplay['timeline'] = {
    atMs: [],
    servedMs: Object.fromEntries(strategies.map((s) => [s.name, []])),
    referenceMs: [],
  };
  const judgedDurations: number[] = [];

  let judging = false;
  let warmup = 0;
  let lo = 0;
  const t0 = ts[0] ?? 0;
  let nextPoint = byCount ? every : t0 + opts.recomputeMs;

  for (let j = 0; j < n; j++) {
    const t = ts[j] as number;
    const due = byCount ? j >= nextPoint : t >= nextPoint;
    if (due) {
      const point = byCount ? j : t0 + Math.floor((t - t0) / opts.recomputeMs) * opts.recomputeMs;
      nextPoint = byCount ? j + every : point + opts.recomputeMs;
      if (!byCount) while (lo < j && (ts[lo] as number) < point - windowMs) lo++;
      const from = Math.max(lo, j - opts.windowLimit);
      if (j - from >= opts.warmupCount) {
        judging = true;
        timeline.atMs.push(point);
        timeline.referenceMs.push(orderStatistic(sortedCopy(d.subarray(from, j)), 1 - opts.alpha));
        for (const s of strategies) {
          const st = states.get(s.name) as StrategyState;
          await recompute(
            s,
            st,
            (st.recorded ?? d).subarray(from, j),
            byCount ? undefined : ts.subarray(from, j),
            point,
            series.endpoint,
            opts,
          );
          timeline.servedMs[s.name]?.push(st.served);
        }
      }
      // At every recompute point (the costly step; the progress report throttles its output).
      onProgress?.(j);
    }
    const dur = d[j] as number;
    if (!judging) {
      warmup++;
      continue;
    }
    judgedDurations.push(dur);
    for (const st of states.values()) {
      st.acc.judge(dur, st.served);
      // A cut request is recorded at the timeout in force (what the traces would show).
      if (st.recorded && dur > st.served) st.recorded[j] = st.served;
    }
  }
  onProgress?.(n);

  const hindsight = judgedDurations.length
    ? orderStatistic(sortedCopy(judgedDurations), 1 - opts.alpha)
    : 0;
  const scores: Record<string, StrategyScore> = {};
  const judgedTimeouts: Record<string, readonly number[]> = {};
  const shapes: EndpointReplay['shapes'] = {};
  for (const [name, st] of states) {
    st.acc.recoveries = recoveryCounts(timeline.referenceMs, timeline.servedMs[name] ?? []);
    scores[name] = st.acc.score(hindsight);
    judgedTimeouts[name] = st.acc.judgedTimeouts;
    shapes[name] = { overshoots: st.acc.overshoots, recoveries: st.acc.recoveries };
  }
  return {
    endpoint: series.endpoint,
    requests: n,
    warmup,
    judged: judgedDurations.length,
    hindsightQuantileMs: hindsight,
    scores,
    judgedTimeouts,
    shapes,
    timeline,
  };
}

/** One recompute of one strategy, post-processed exactly as the broker does. */
async function recompute(
  s: StrategyRun,
  st: StrategyState,
  durationsMs: Float64Array,
  timestampsMs: Float64Array | undefined,
  pointMs: number,
  endpoint: string,
  opts: ReplayOptions,
): Promise<void> {
  try {
    const r = await runStrategy(s.strategy, {
      endpoint,
      durationsMs,
      timestampsMs,
      alpha: opts.alpha,
      nowMs: pointMs,
      previous: st.previous,
    });
    if (!Number.isFinite(r.timeoutMs) || r.timeoutMs <= 0) throw new Error('invalid value');
    // The broker's own rule (core/serving.ts), placeholder included.
    st.stored = nextStoredMs(
      r.timeoutMs,
      { storedMs: st.stored, placeholder: st.placeholder },
      opts.serving,
    );
    st.placeholder = r.placeholder === true;
    st.served = servedTimeout(st.stored, opts.serving);
    st.previous = { servedMs: st.served, computedAtMs: pointMs, state: r.state };
    st.acc.recomputes++;
    let max = 0;
    for (let i = 0; i < durationsMs.length; i++) max = Math.max(max, durationsMs[i] as number);
    st.acc.recordOvershoot(st.served, max);
  } catch {
    // As the broker: a failed computation keeps the value in force.
    st.acc.failures++;
  }
}
