// Shared conformance suite every TimeoutStrategy must pass (run for each registered strategy).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JitError } from '../core/errors.ts';
import { MAX_STRATEGY_REASON_CHARS } from '../core/serving.ts';
import { sortedCopy } from '../core/stats.ts';
import { seedSampleDurationsMs } from '../sources/seed-sample.ts';
import { histogramExceedance, topFiniteBoundMs } from './histogram.ts';
import { runStrategy } from './run.ts';
import type { StrategyInput, TimeoutStrategy } from './types.ts';
import type { LatencyHistogram } from '../sources/types.ts';

/** A histogram window (OpenTelemetry's default bounds, ms) of `n` observations, `topShare` above 10 s. */
export function histogramWindow(n = 10_000, topShare = 0): LatencyHistogram {
  const boundsMs = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10_000];
  // Mostly 10–50 ms, a 2 % tail spread over 100 ms – 5 s, `topShare` beyond the last bound.
  const shares = [0, 0, 0.08, 0.5, 0.3, 0.06, 0.04, 0.01, 0.004, 0.002, 0.002, 0.001, 0.001, 0, 0];
  const body = 1 - topShare;
  const counts = [...shares.map((s) => s * n * body), topShare * n];
  return { boundsMs, counts };
}

/** Deterministic heavy-tailed durations (ms): mostly 10–30 ms with a 2 % tail up to 2 s. */
export function syntheticWindow(n: number, seed = 1): number[] {
  let s = seed;
  const rand = () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, () => (rand() < 0.02 ? 200 + rand() * 1800 : 10 + rand() * 20));
}

export function timeoutStrategyConformance(name: string, make: () => TimeoutStrategy): void {
  describe(`TimeoutStrategy conformance: ${name}`, () => {
    const input = (durationsMs: number[], alpha = 0.001) => ({ endpoint: 'e', durationsMs, alpha });

    it('reports its registered name and a description', () => {
      const s = make();
      assert.equal(s.name, name);
      assert.ok(s.description.length > 0);
    });

    it('answers a finite, positive timeout and a method on real and synthetic windows', async () => {
      for (const w of [
        [...seedSampleDurationsMs()],
        syntheticWindow(2000),
        Array<number>(40).fill(5),
      ]) {
        const r = await make().compute(input(w));
        assert.ok(Number.isFinite(r.timeoutMs) && r.timeoutMs > 0, `timeoutMs ${r.timeoutMs}`);
        assert.ok(r.method.length > 0);
        // The reason is optional, but when given it is words a person reads on the dashboard.
        if (r.reason !== undefined) {
          assert.ok(
            r.reason.length > 0 && r.reason.length <= MAX_STRATEGY_REASON_CHARS,
            `reason of ${r.reason.length} chars`,
          );
          assert.doesNotMatch(r.reason, /NaN|undefined|Infinity/);
        }
      }
    });

    it('is deterministic: the same window gives the same value', async () => {
      const w = syntheticWindow(1000, 7);
      assert.equal(
        (await make().compute(input(w))).timeoutMs,
        (await make().compute(input(w))).timeoutMs,
      );
    });

    it('answers the same when the caller passes the window sorted as well', async () => {
      for (const [w, alpha] of [
        [syntheticWindow(2000, 13), 0.001],
        [syntheticWindow(5000, 17), 0.01],
        [syntheticWindow(50, 19), 0.001],
      ] as const) {
        const plain = await make().compute(input(w, alpha));
        const withSorted = await make().compute({ ...input(w, alpha), sortedMs: sortedCopy(w) });
        // Value and method; state may carry timings (the forecaster's training time).
        assert.deepEqual(
          [withSorted.timeoutMs, withSorted.method],
          [plain.timeoutMs, plain.method],
        );
      }
    });

    it('does not modify the window it is given', async () => {
      const w = syntheticWindow(300, 3);
      const copy = [...w];
      await make().compute(input(Object.freeze(w) as number[]));
      assert.deepEqual(w, copy);
    });

    it('scales with the data: every duration ×10 gives a larger timeout', async () => {
      const w = syntheticWindow(1000, 11);
      const a = await make().compute(input(w));
      const b = await make().compute(input(w.map((x) => x * 10)));
      assert.ok(b.timeoutMs > a.timeoutMs, `${b.timeoutMs} > ${a.timeoutMs}`);
    });

    it('covers most of a stationary window (at most 5 % of it above the value)', async () => {
      const w = syntheticWindow(2000, 5);
      const r = await make().compute(input(w, 0.01));
      assert.ok(w.filter((x) => x > r.timeoutMs).length / w.length <= 0.05);
    });

    it('answers a histogram window (bucket counts, no durations) or refuses it with HISTOGRAM_NOT_SUPPORTED', async () => {
      const run = (histogram: LatencyHistogram, alpha: number) =>
        runStrategy(make(), {
          endpoint: 'e',
          durationsMs: [],
          histogram,
          alpha,
        } satisfies StrategyInput);
      let r;
      try {
        r = await run(histogramWindow(), 0.01);
      } catch (err) {
        assert.ok(err instanceof JitError, `expected a JitError, got ${String(err)}`);
        assert.equal(err.code, 'HISTOGRAM_NOT_SUPPORTED', err.message);
        assert.equal(err.statusCode, 422);
        assert.match(err.message, new RegExp(`strategy ${name} needs individual durations`));
        return;
      }
      // Answered: a value from the data, not a no-data placeholder, inside the histogram's range
      // and covering about 1 − α of it.
      assert.ok(Number.isFinite(r.timeoutMs) && r.timeoutMs > 0, `timeoutMs ${r.timeoutMs}`);
      assert.notEqual(r.placeholder, true, 'a histogram with data is not a placeholder');
      const h = histogramWindow();
      const over = histogramExceedance(h, r.timeoutMs).share;
      assert.ok(over <= 0.05, `${over} of the histogram above ${r.timeoutMs} ms`);
      assert.ok(r.timeoutMs <= topFiniteBoundMs(h), `${r.timeoutMs} beyond the top bound`);
      // Larger latencies (bounds ×10), larger timeout.
      const scaled = { ...h, boundsMs: h.boundsMs.map((b) => b * 10) };
      assert.ok((await run(scaled, 0.01)).timeoutMs > r.timeoutMs);
      // A quantile in the +Inf bucket is unknowable: the answer says so and is not invented.
      const top = await run(histogramWindow(10_000, 0.05), 0.001);
      assert.ok(top.reason !== undefined && top.reason.length > 0, 'top-bucket answer unflagged');
      assert.ok(top.timeoutMs >= topFiniteBoundMs(h) && Number.isFinite(top.timeoutMs));
    });

    it('answers an empty window with a positive placeholder or a typed 4xx error, never NaN', async () => {
      try {
        const r = await make().compute(input([]));
        assert.ok(Number.isFinite(r.timeoutMs) && r.timeoutMs > 0);
        // A value without data must say so, or the broker would damp the next one against it.
        assert.equal(r.placeholder, true, 'a value computed from no data is flagged placeholder');
      } catch (err) {
        assert.ok(err instanceof JitError, `expected a JitError, got ${String(err)}`);
        assert.ok(err.statusCode >= 400 && err.statusCode < 500);
      }
    });
  });
}
