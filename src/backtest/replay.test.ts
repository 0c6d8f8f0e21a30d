// The replay protocol of SPEC §3 on small hand-computed series.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SERVING } from '../core/serving.ts';
import type { TimeoutStrategy } from '../strategies/types.ts';
import { poolScores, ScoreAccumulator } from './metrics.ts';
import { replayEndpoint, type ReplayOptions } from './replay.ts';

const opts: ReplayOptions = {
  alpha: 0.01,
  recomputeMs: 60_000,
  recomputeEvery: undefined,
  windowHours: 48,
  windowLimit: 5000,
  warmupCount: 50,
  serving: { ...DEFAULT_SERVING },
  censor: false,
};

/** A strategy answering a scripted sequence of values, one per recompute. */
function scripted(values: number[]): TimeoutStrategy & { windows: number[] } {
  let i = 0;
  const windows: number[] = [];
  return {
    name: 'scripted',
    description: 'test',
    windows,
    compute(input) {
      windows.push(input.durationsMs.length);
      return { timeoutMs: values[Math.min(i++, values.length - 1)] as number, method: 'script' };
    },
  };
}

/** One request per second for `seconds`, durations from `f`. */
function series(seconds: number, f: (i: number) => number) {
  return {
    endpoint: 'e',
    timestampsMs: Float64Array.from({ length: seconds }, (_, i) => 1_000_000 + i * 1000),
    durationsMs: Float64Array.from({ length: seconds }, (_, i) => f(i)),
  };
}

describe('replayEndpoint', () => {
  it('judges each request against the timeout in force when it started, after the warm-up', async () => {
    const s = scripted([10, 30, 10]);
    // 180 requests: 0–59 before the first recompute (warm-up), then three recomputes.
    const r = await replayEndpoint(
      series(180, (i) => (i % 10 === 0 ? 20 : 5)),
      [{ name: 'x', strategy: s }],
      opts,
    );
    assert.deepEqual(s.windows, [60, 120]);
    assert.equal(r.warmup, 60);
    assert.equal(r.judged, 120);
    // Served: ceil(10 · 1.1) = 11 for requests 60–119, ceil(30 · 1.1) = 33 for 120–179.
    const score = r.scores.x!;
    assert.equal(score.falseTimeouts, 6); // the 20 ms requests 60, 70, …, 110 exceed 11 ms
    assert.equal(score.falseTimeoutRate, 6 / 120);
    assert.equal(score.meanTimeoutMs, (60 * 11 + 60 * 33) / 120);
    assert.equal(score.medianTimeoutMs, 11);
    // The reference is the window's 1 − α order statistic (the 20 ms calls), the same for all strategies.
    assert.deepEqual(r.timeline, {
      atMs: [1_060_000, 1_120_000],
      servedMs: { x: [11, 33] },
      referenceMs: [20, 20],
    });
    // Overshoot: served ÷ the window's max (20 ms) at each recompute.
    assert.deepEqual(r.shapes.x?.overshoots, [11 / 20, 33 / 20]);
  });

  it('damps spikes with the broker code: 10 then 100 serves ceil(2 · 10 · 1.1) = 22', async () => {
    const r = await replayEndpoint(
      series(180, () => 5),
      [{ name: 'x', strategy: scripted([10, 100]) }],
      opts,
    );
    assert.deepEqual(r.timeline.servedMs.x, [11, 22]);
  });

  it('does not damp against a placeholder, as the broker: 300 (no data) then 4000 serves 4400', async () => {
    let i = 0;
    const placeholderFirst: TimeoutStrategy = {
      name: 'p',
      description: 'test',
      compute: () =>
        i++ === 0
          ? { timeoutMs: 300, method: 'no-data', placeholder: true }
          : { timeoutMs: 4000, method: 'real' },
    };
    const r = await replayEndpoint(
      series(240, () => 5),
      [
        { name: 'p', strategy: placeholderFirst },
        // The same numbers from a real value are still damped: 300, 4000 → 600, 4000 → 1200.
        { name: 'x', strategy: scripted([300, 4000]) },
      ],
      opts,
    );
    assert.deepEqual(r.timeline.servedMs.p, [330, 4400, 4400]);
    assert.deepEqual(r.timeline.servedMs.x, [330, 660, 1320]); // 600, then 2 · 600
  });

  it('recomputes every k requests when asked (or without timestamps)', async () => {
    const s = scripted([10]);
    const r = await replayEndpoint(
      {
        endpoint: 'e',
        timestampsMs: undefined,
        durationsMs: Float64Array.from({ length: 250 }, () => 5),
      },
      [{ name: 'x', strategy: s }],
      { ...opts, recomputeEvery: 100 },
    );
    assert.deepEqual(s.windows, [100, 200]);
    assert.equal(r.warmup, 100);
    assert.equal(r.judged, 150);
  });

  it('keeps the value in force when a strategy fails, as the broker does', async () => {
    let n = 0;
    const flaky: TimeoutStrategy = {
      name: 'flaky',
      description: 'test',
      compute: () => {
        if (n++ === 1) throw new Error('boom');
        return { timeoutMs: 50, method: 'x' };
      },
    };
    const r = await replayEndpoint(
      series(240, () => 5),
      [{ name: 'f', strategy: flaky }],
      opts,
    );
    assert.deepEqual(r.timeline.servedMs.f, [55, 55, 55]); // ceil(50 + 50 / 10)
    assert.equal(r.scores.f!.failures, 1);
  });

  it('simulates censoring: a cut request enters later windows at the timeout, not its duration', async () => {
    const seen: number[] = [];
    const spy: TimeoutStrategy = {
      name: 'spy',
      description: 'test',
      compute: (input) => {
        seen.push(Math.max(...Array.from(input.durationsMs)));
        return { timeoutMs: 10, method: 'x' };
      },
    };
    await replayEndpoint(
      series(180, (i) => (i === 90 ? 1000 : 5)),
      [{ name: 's', strategy: spy }],
      { ...opts, censor: true },
    );
    // The 1000 ms request was recorded at the 11 ms in force, then recognised as cut and imputed as 2 × 11.
    assert.deepEqual(seen, [5, 22]);
  });
});

describe('scores', () => {
  it('pinball loss at 1 − α and the worst rolling-1000 block', () => {
    const acc = new ScoreAccumulator(0.01);
    acc.judge(5, 10); // over-provisioned by 5: α · 5 = 0.05
    acc.judge(30, 10); // cut: (1 − α) · 20 = 19.8
    const s = acc.score(20);
    assert.ok(Math.abs(s.pinballLoss - (0.05 + 19.8) / 2) < 1e-12);
    assert.equal(s.inflation, 10 / 20);
    assert.equal(s.worstRollingRate, 0.5); // fewer than 1000 judged: the whole run

    const long = new ScoreAccumulator(0.01);
    for (let i = 0; i < 3000; i++) long.judge(i >= 1000 && i < 1050 ? 99 : 1, 10); // 50 misses in a row
    assert.equal(long.score(1).worstRollingRate, 50 / 1000);
    assert.equal(long.score(1).falseTimeoutRate, 50 / 3000);
  });

  it('pools endpoints by requests', () => {
    const a = new ScoreAccumulator(0.01);
    const b = new ScoreAccumulator(0.01);
    for (let i = 0; i < 10; i++) a.judge(1, 10);
    for (let i = 0; i < 30; i++) b.judge(i < 3 ? 50 : 1, 20);
    const pooled = poolScores([
      { score: a.score(5), hindsightQuantileMs: 5, timeouts: a.judgedTimeouts },
      { score: b.score(10), hindsightQuantileMs: 10, timeouts: b.judgedTimeouts },
    ]);
    assert.equal(pooled.judged, 40);
    assert.equal(pooled.falseTimeoutRate, 3 / 40);
    assert.equal(pooled.meanTimeoutMs, (10 * 10 + 30 * 20) / 40);
    assert.equal(pooled.medianTimeoutMs, 20);
    assert.equal(pooled.inflation, (10 * 10 + 30 * 20) / (10 * 5 + 30 * 10));
  });
});
