// Window statistics against hand-computed values and the SPEC §2 figures of the sample data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seedSampleDurationsMs } from '../sources/seed-sample.ts';
import { mean, orderStatistic, sampleSd, sortedCopy, summarize } from './stats.ts';

describe('stats', () => {
  it('mean and sample sd (n − 1)', () => {
    assert.equal(mean([2, 4, 4, 4, 5, 5, 7, 9]), 5);
    // Σ(x − 5)² = 32; 32 / 7 = 4.571428…
    assert.ok(Math.abs(sampleSd([2, 4, 4, 4, 5, 5, 7, 9]) - Math.sqrt(32 / 7)) < 1e-12);
    assert.equal(sampleSd([7]), 0);
    assert.ok(Number.isNaN(mean([])));
  });
  it('sorts numerically, not lexicographically', () => {
    assert.deepEqual([...sortedCopy([10, 9, 100, 1])], [1, 9, 10, 100]);
  });
  it('order statistic x₍⌈q·n⌉₎', () => {
    const s = sortedCopy([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(orderStatistic(s, 0.5), 5);
    assert.equal(orderStatistic(s, 0.9), 9);
    assert.equal(orderStatistic(s, 0.91), 10);
    assert.equal(orderStatistic(s, 0.999), 10);
    assert.equal(orderStatistic(s, 0), 1);
    const thousand = sortedCopy(Array.from({ length: 1000 }, (_, i) => i + 1));
    // 0.999 · 1000 is 998.9999999999999 in floating point; the 999th value is meant.
    assert.equal(orderStatistic(thousand, 0.999), 999);
  });
  it('reproduces the SPEC §2 figures on the 522 sample durations', () => {
    const d = seedSampleDurationsMs();
    assert.equal(d.length, 522);
    const s = summarize(d);
    assert.equal(Math.round(s.meanMs + 2 * s.sdMs), 4442);
    assert.equal(Math.round(s.percentilesMs.p50), 13);
    assert.equal(Math.round(s.percentilesMs.p90), 73);
    assert.equal(Math.round(s.percentilesMs.p99 / 100) / 10, 15.5);
    // "which 1.5 % of the samples exceed"
    const over = d.filter((x) => x > s.meanMs + 2 * s.sdMs).length;
    assert.equal(Math.round((over / d.length) * 1000) / 10, 1.5);
  });
});
