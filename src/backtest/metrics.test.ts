// Overshoot and recovery, the measures of what users felt after a shift (issue 16).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SERVING } from '../core/serving.ts';
import type { TimeoutStrategy } from '../strategies/types.ts';
import { poolScores, recoveryCounts, ScoreAccumulator, shapeStats } from './metrics.ts';
import { replayEndpoint } from './replay.ts';

const flat = (n: number, v: number) => Array.from({ length: n }, () => v);

describe('recoveryCounts', () => {
  it('counts computations from the shift until the served value stays within 1.2× of where it settles', () => {
    // Reference ×10 at computation 5; served overshoots to 5000 and settles at 1000 from 8 on.
    const ref = [...flat(5, 100), ...flat(30, 1000)];
    const served = [...flat(5, 110), 220, 5000, 2000, ...flat(27, 1000)];
    assert.deepEqual(recoveryCounts(ref, served), [3]);
  });
  it('is 0 when the first value after the shift is already within 1.2×, both directions', () => {
    const ref = [...flat(5, 1000), ...flat(30, 100)];
    const served = [...flat(5, 1100), 115, ...flat(29, 110)];
    assert.deepEqual(recoveryCounts(ref, served), [0]);
  });
  it('a value that leaves the band again is not recovered yet', () => {
    const ref = [...flat(5, 100), ...flat(30, 1000)];
    const served = [...flat(5, 110), 1000, 5000, ...flat(28, 1000)];
    assert.deepEqual(recoveryCounts(ref, served), [2]);
  });
  it('says 10 (not recovered) for a value still drifting, and ignores changes under 2×', () => {
    const ref = [...flat(5, 100), ...flat(30, 1000)];
    const drifting = [...flat(5, 110), ...Array.from({ length: 30 }, (_, i) => 3000 - 80 * i)];
    assert.deepEqual(recoveryCounts(ref, drifting), [10]);
    assert.deepEqual(recoveryCounts([...flat(5, 100), ...flat(30, 190)], drifting), []);
  });
  it('skips a shift without a settled value: too close to the end or to the next shift', () => {
    assert.deepEqual(recoveryCounts([...flat(5, 100), ...flat(10, 1000)], flat(15, 1)), []);
    const ref = [...flat(5, 100), ...flat(10, 1000), ...flat(30, 100)];
    assert.deepEqual(recoveryCounts(ref, flat(45, 100)), [0]); // only the second one is scored
  });
});

describe('overshoot', () => {
  it('p99 and max of served ÷ window max; recovery median and max; nulls without shifts', () => {
    const overshoots = Array.from({ length: 100 }, (_, i) => 1 + i / 100); // 1.00 … 1.99
    assert.deepEqual(shapeStats(overshoots, [1, 5, 2]), {
      overshootP99: 1.98,
      overshootMax: 1.99,
      shifts: 3,
      recoveryP50: 2,
      recoveryMax: 5,
    });
    assert.equal(shapeStats([], []).recoveryP50, null);
  });
  it('pools the raw values of every endpoint, not the per-endpoint summaries', () => {
    const acc = new ScoreAccumulator(0.001);
    acc.judge(10, 20);
    const score = acc.score(15);
    const pooled = poolScores([
      { score, hindsightQuantileMs: 15, timeouts: [20], overshoots: [1.1], recoveries: [1] },
      { score, hindsightQuantileMs: 15, timeouts: [20], overshoots: [3], recoveries: [7] },
    ]);
    assert.equal(pooled.overshootMax, 3);
    assert.equal(pooled.recoveryMax, 7);
    assert.equal(pooled.shifts, 2);
  });
  it('the replay records served ÷ the max of the window each value was computed from', async () => {
    // A strategy answering twice the window's max: served = 2 × max × 1.1 margin.
    const double: TimeoutStrategy = {
      name: 'double',
      description: 'twice the max',
      compute: ({ durationsMs }) => ({
        timeoutMs: 2 * Math.max(...Array.from(durationsMs)),
        method: 'double',
      }),
    };
    const d = Float64Array.from({ length: 400 }, (_, i) => 10 + (i % 50));
    const r = await replayEndpoint(
      { endpoint: 'e', timestampsMs: undefined, durationsMs: d },
      [{ name: 'double', strategy: double }],
      {
        alpha: 0.001,
        recomputeMs: 60_000,
        recomputeEvery: 100,
        windowHours: 48,
        windowLimit: 5000,
        warmupCount: 50,
        serving: DEFAULT_SERVING,
        censor: false,
      },
    );
    const o = r.shapes.double?.overshoots ?? [];
    assert.equal(o.length, 3);
    // The served value is rounded to whole ms: 2 × 59 × 1.1 = 129.8 → 130.
    for (const x of o) assert.ok(Math.abs(x - 130 / 59) < 1e-9, String(x));
    assert.ok(Math.abs((r.scores.double?.overshootP99 ?? 0) - 130 / 59) < 1e-9);
    assert.equal(r.timeline.referenceMs.length, 3);
  });
});
