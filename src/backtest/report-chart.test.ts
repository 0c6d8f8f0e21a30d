// The report chart's data: aligned series, the served value in force at every position, gaps shortened.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chartData, compressGaps } from './report-chart.ts';

describe('compressGaps', () => {
  it('keeps short gaps and draws a long one at the given width, marked with its real times', () => {
    const { x, breaks } = compressGaps([0, 10, 20, 1000, 1010], 50, 5);
    assert.deepEqual(x, [0, 10, 20, 25, 35]);
    assert.deepEqual(breaks, [{ x0: 20, x1: 25, fromMs: 20, toMs: 1000 }]);
  });
  it('shortens every long gap, each shift on top of the previous', () => {
    const { x, breaks } = compressGaps([0, 100, 110, 300], 50, 10);
    assert.deepEqual(x, [0, 10, 20, 30]);
    assert.deepEqual(
      breaks.map((b) => [b.x0, b.x1, b.fromMs, b.toMs]),
      [
        [0, 10, 0, 100],
        [20, 30, 110, 300],
      ],
    );
  });
});

describe('chartData', () => {
  // Requests every 10 s for 5 min, then 3 h of silence, then 5 min more; recomputes every 60 s.
  const t0 = 1_764_000_000_000;
  const times = [
    ...Array.from({ length: 30 }, (_, i) => t0 + i * 10_000),
    ...Array.from({ length: 30 }, (_, i) => t0 + 3 * 3_600_000 + i * 10_000),
  ];
  const atMs = [t0 + 60_000, t0 + 120_000, t0 + 3 * 3_600_000 + 60_000];
  const chart = {
    endpoint: 'e',
    timestampsMs: Float64Array.from(times),
    durationsMs: Float64Array.from(times, (_, i) => 100 + i),
    atMs,
    servedMs: { a: [110, 120, 130], b: [210, 220, 230] },
    referenceMs: [100, 110, 120],
  };

  it('aligns durations and each strategy’s value in force on one ascending axis', () => {
    const d = chartData(chart, ['a', 'b'], { recomputeMs: 60_000 });
    assert.equal(d.time, true);
    assert.equal(d.x.length, 60 + atMs.length);
    for (const s of [d.real, d.durations, d.served.a, d.served.b])
      assert.equal(s?.length, d.x.length);
    for (let i = 1; i < d.x.length; i++) assert.ok((d.x[i] as number) >= (d.x[i - 1] as number));
    assert.equal(d.durations.filter((v) => v !== null).length, 60);
    // Before the first recompute nothing is served; after it, the value in force.
    const at = (t: number) => d.real.indexOf(t);
    assert.equal(d.served.a?.[at(t0)], null);
    assert.equal(d.served.a?.[at(t0 + 90_000)], 110);
    assert.equal(d.served.b?.[at(t0 + 120_000)], 220);
    assert.equal(d.served.a?.[at(t0 + 3 * 3_600_000 + 10_000)], 120);
    assert.equal(d.served.a?.[d.x.length - 1], 130);
  });

  it('draws the 3 h silence as one break of 2 recompute intervals', () => {
    const d = chartData(chart, ['a'], { recomputeMs: 60_000 });
    assert.equal(d.breaks.length, 1);
    const b = d.breaks[0];
    assert.equal(b?.fromMs, t0 + 290_000);
    assert.equal(b?.toMs, t0 + 3 * 3_600_000);
    assert.equal((b?.x1 ?? 0) - (b?.x0 ?? 0), 120_000);
    const drawn = (d.x[d.x.length - 1] as number) - (d.x[0] as number);
    assert.ok(drawn < 20 * 60_000, `${drawn} ms drawn for 3 h 10 min of trace`);
  });

  it('without timestamps (recompute every N requests): request numbers, nothing shortened', () => {
    const d = chartData({ ...chart, timestampsMs: undefined, atMs: [10, 20] }, ['a'], {
      recomputeMs: undefined,
    });
    assert.equal(d.time, false);
    assert.deepEqual(d.breaks, []);
    assert.equal(d.x[0], 0);
  });

  it('keeps the longest request of each stride when there are too many to draw', () => {
    const n = 20_000;
    const big = {
      endpoint: 'big',
      timestampsMs: Float64Array.from({ length: n }, (_, i) => t0 + i),
      durationsMs: Float64Array.from({ length: n }, (_, i) => (i === 12_345 ? 99_999 : 1)),
      atMs: [],
      servedMs: {},
      referenceMs: [],
    };
    const d = chartData(big, [], { recomputeMs: 60_000 });
    assert.ok(d.x.length <= 6000);
    assert.ok(d.durations.includes(99_999));
  });
});
