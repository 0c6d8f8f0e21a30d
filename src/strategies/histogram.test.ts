// Histogram maths by hand: interpolated quantiles (as histogram_quantile), exceedance, summary.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HistogramNotSupportedError, InsufficientDataError, JitError } from '../core/errors.ts';
import {
  histogramExceedance,
  histogramQuantile,
  histogramTotal,
  summarizeHistogram,
} from './histogram.ts';
import { createQuantileStrategy, HISTOGRAM_TOP_BUCKET_METHOD } from './quantile.ts';
import { createRtoStrategy } from './rto.ts';
import { runStrategy } from './run.ts';
import { createSigmaStrategy } from './sigma.ts';
import { createStrategy } from './registry.ts';

// Buckets (0,10] (10,20] (20,40] (40,+Inf): 10, 20, 60, 10 observations.
const H = { boundsMs: [10, 20, 40], counts: [10, 20, 60, 10] };

describe('histogramQuantile', () => {
  it('interpolates linearly inside the bucket, from 0 for the first one', () => {
    assert.deepEqual(histogramQuantile(H, 0.05), { valueMs: 5, inTopBucket: false });
    assert.deepEqual(histogramQuantile(H, 0.1), { valueMs: 10, inTopBucket: false });
    assert.deepEqual(histogramQuantile(H, 0.2), { valueMs: 15, inTopBucket: false });
    // rank 60: 30 below, 30 of 60 into (20, 40] → 30.
    assert.deepEqual(histogramQuantile(H, 0.6), { valueMs: 30, inTopBucket: false });
    assert.deepEqual(histogramQuantile(H, 0.9), { valueMs: 40, inTopBucket: false });
  });

  it('flags a quantile in the +Inf bucket and answers the highest finite bound', () => {
    assert.deepEqual(histogramQuantile(H, 0.95), { valueMs: 40, inTopBucket: true });
    assert.deepEqual(histogramQuantile(H, 0.999), { valueMs: 40, inTopBucket: true });
  });

  it('skips empty buckets and answers NaN for an empty histogram', () => {
    const h = { boundsMs: [10, 20, 40], counts: [0, 0, 4, 0] };
    assert.deepEqual(histogramQuantile(h, 0.5), { valueMs: 30, inTopBucket: false });
    assert.ok(Number.isNaN(histogramQuantile({ boundsMs: [1], counts: [0, 0] }, 0.5).valueMs));
  });

  it('takes non-integer (extrapolated) counts', () => {
    const h = { boundsMs: [10, 20], counts: [1.5, 1.5, 0] };
    assert.equal(histogramTotal(h), 3);
    assert.equal(histogramQuantile(h, 0.75).valueMs, 15);
  });
});

describe('histogramExceedance', () => {
  it('is the share above the threshold, interpolated inside its bucket', () => {
    assert.deepEqual(histogramExceedance(H, 0), { share: 1, inTopBucket: false });
    assert.deepEqual(histogramExceedance(H, 20), { share: 0.7, inTopBucket: false });
    assert.deepEqual(histogramExceedance(H, 30), { share: 0.4, inTopBucket: false });
    // Above the top bound all of the +Inf bucket counts, flagged (an upper bound).
    assert.deepEqual(histogramExceedance(H, 40), { share: 0.1, inTopBucket: true });
    assert.deepEqual(histogramExceedance(H, 1e6), { share: 0.1, inTopBucket: true });
  });

  it('inverts histogramQuantile below the top bucket', () => {
    for (const level of [0.05, 0.3, 0.5, 0.77, 0.89]) {
      const q = histogramQuantile(H, level).valueMs;
      assert.ok(Math.abs(histogramExceedance(H, q).share - (1 - level)) < 1e-12, `level ${level}`);
    }
  });
});

describe('summarizeHistogram', () => {
  it('counts, interpolated percentiles, mean from _sum when given', () => {
    const s = summarizeHistogram({ ...H, sumMs: 2500 });
    assert.equal(s.samples, 100);
    assert.equal(s.meanMs, 25);
    // rank 50: 30 below, 20 of 60 into (20, 40] → 26.67.
    assert.ok(Math.abs(s.percentilesMs.p50 - (20 + (20 * 20) / 60)) < 1e-9);
    assert.equal(s.percentilesMs.max, 40);
    assert.ok(s.sdMs > 0);
    // Without _sum: bucket midpoints, the +Inf bucket at the top bound.
    assert.equal(summarizeHistogram(H).meanMs, (10 * 5 + 20 * 15 + 60 * 30 + 10 * 40) / 100);
    assert.equal(summarizeHistogram({ boundsMs: [1], counts: [0, 0] }).samples, 0);
  });
});

describe('strategies on histogram windows', () => {
  const input = (alpha: number, histogram = H) => ({
    endpoint: 'e',
    durationsMs: [],
    histogram,
    alpha,
  });

  it('quantile: interpolated inside the bucket', async () => {
    const r = await runStrategy(createQuantileStrategy(), input(0.4));
    assert.equal(r.timeoutMs, 30);
    assert.equal(r.method, 'histogram-interpolation');
    assert.equal(r.reason, 'p60 of 100 calls (histogram buckets, interpolated) = 30 ms');
  });

  it('quantile: flagged and clamped to the top finite bound in the +Inf bucket', async () => {
    const r = await runStrategy(createQuantileStrategy(), input(0.001));
    assert.equal(r.timeoutMs, 40);
    assert.equal(r.method, HISTOGRAM_TOP_BUCKET_METHOD);
    assert.match(
      r.reason ?? '',
      /^p99\.9 of 100 calls lies above the highest bucket bound: answered that bound, 40 ms/,
    );
  });

  it('quantile: too few observations is INSUFFICIENT_DATA, not a value', async () => {
    await assert.rejects(
      runStrategy(createQuantileStrategy(), input(0.01, { boundsMs: [10], counts: [3, 0] })),
      InsufficientDataError,
    );
  });

  it('sigma, rto and seed refuse a histogram with HISTOGRAM_NOT_SUPPORTED (422), directly too', async () => {
    for (const s of [createSigmaStrategy(), createRtoStrategy()]) {
      assert.throws(() => s.compute(input(0.01)), HistogramNotSupportedError);
      await assert.rejects(runStrategy(s, input(0.01)), (err: unknown) => {
        assert.ok(err instanceof JitError);
        assert.equal(err.code, 'HISTOGRAM_NOT_SUPPORTED');
        assert.equal(err.statusCode, 422);
        assert.match(err.message, /needs individual durations.*--strategy quantile/);
        return true;
      });
    }
  });

  it('a strategy that does not declare acceptsHistograms is refused by runStrategy', async () => {
    const plain = { ...createStrategy('quantile'), acceptsHistograms: false };
    await assert.rejects(runStrategy(plain, input(0.01)), HistogramNotSupportedError);
  });

  it('adaptive: the histogram quantile, a carried correction applied but held, bounded', async () => {
    // Buckets (0,10] (10,20] (20,40] (40,80]: 10, 20, 60, 10; IQR = q75 − q25 = 35 − 17.5 = 17.5.
    const h = { boundsMs: [10, 20, 40, 80], counts: [10, 20, 60, 10, 0] };
    // The single tracker's state (the mixture's histogram case: mixture.test.ts).
    const adaptive = createStrategy('adaptive', { calibration: 'single' });
    assert.equal(adaptive.acceptsHistograms, true);
    const first = await runStrategy(adaptive, { ...input(0.4), histogram: h });
    assert.equal(first.timeoutMs, 30);
    assert.equal(first.method, 'histogram-interpolation');
    assert.deepEqual(first.state, { v: 2, correction: 0 });
    assert.equal(first.reason, 'p60 of 100 calls (histogram buckets, interpolated) = 30 ms');
    // A correction learned on durations before carries over (30 + 0.5 × 17.5), not updated.
    const previous = { servedMs: 1, computedAtMs: 0, state: { v: 2, correction: 0.5 } };
    const carried = await runStrategy(adaptive, { ...input(0.4), histogram: h, previous });
    assert.equal(carried.timeoutMs, 38.75);
    assert.deepEqual(carried.state, { v: 2, correction: 0.5 });
    assert.match(
      carried.reason ?? '',
      /\+ 0\.50 × IQR 18 ms \(held: a histogram has no per-request times\)/,
    );
    // Never above 1.25 × the highest non-empty bucket's bound (80 ms → 100 ms).
    const huge = { ...previous, state: { v: 2, correction: 100 } };
    const capped = await runStrategy(adaptive, { ...input(0.4), histogram: h, previous: huge });
    assert.equal(capped.timeoutMs, 100);
    assert.deepEqual(capped.state, { v: 2, correction: 4 }); // (100 − 30) / 17.5: anti-windup
    assert.match(capped.reason ?? '', /capped at window max 80 ms × 1\.25 = 100 ms/);
  });

  it('durations win when a window has both', async () => {
    const r = await runStrategy(createSigmaStrategy(), {
      ...input(0.01),
      durationsMs: [1, 3],
    });
    assert.equal(r.method, 'mean+k·sd');
  });
});
