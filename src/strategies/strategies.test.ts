// Every registered strategy through the conformance suite, then each one's maths by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InsufficientDataError, InvalidConfigError, UnknownStrategyError } from '../core/errors.ts';
import { servedTimeout, nextStoredMs } from '../core/serving.ts';
import { sortedCopy } from '../core/stats.ts';
import { seedSampleDurationsMs } from '../sources/seed-sample.ts';
import { createAdaptiveStrategy } from './adaptive.ts';
import { censoredIndices } from './censoring.ts';
import { createQuantileStrategy, percentileLabel, quantileReason } from './quantile.ts';
import { createRtoStrategy } from './rto.ts';
import { runStrategy } from './run.ts';
import { createStrategy, strategyNames } from './registry.ts';
import { createSigmaStrategy } from './sigma.ts';
import { timeoutStrategyConformance } from './timeout-strategy.conformance.ts';
import type { PreviousComputation } from './types.ts';

for (const name of strategyNames()) timeoutStrategyConformance(name, () => createStrategy(name));

const input = (durationsMs: number[], alpha = 0.001) => ({ endpoint: 'e', durationsMs, alpha });

describe('sigma', () => {
  it('is mean + 2·sd with the sample sd: [2,4,4,4,5,5,7,9] → 5 + 2·√(32/7)', () => {
    const r = createSigmaStrategy().compute(input([2, 4, 4, 4, 5, 5, 7, 9]));
    assert.ok(
      Math.abs((r as { timeoutMs: number }).timeoutMs - (5 + 2 * Math.sqrt(32 / 7))) < 1e-9,
    );
  });
  it('gives 4442 ms on the 522 sample durations (SPEC §2)', () => {
    const r = createSigmaStrategy().compute(input([...seedSampleDurationsMs()]));
    assert.equal(Math.round((r as { timeoutMs: number }).timeoutMs), 4442);
  });
  it('follows the original n = 0 rule: mean = sd = 100 ms → 300 ms', () => {
    const r = createSigmaStrategy().compute(input([]));
    // A placeholder (carried as data): the broker does not damp the next value against it.
    assert.deepEqual(r, {
      timeoutMs: 300,
      method: 'no-data-rule',
      placeholder: true,
      reason:
        "no durations in the window: the original's rule, mean 100 ms + 2 × sd 100 ms = 300 ms",
    });
  });
  it('says its rule in words', () => {
    const r = createSigmaStrategy().compute(input([...seedSampleDurationsMs()])) as {
      reason: string;
    };
    assert.equal(r.reason, "mean 330 ms + 2 × sd 2.1 s of 522 calls = 4.4 s (the original's rule)");
  });
  it('takes k from its options', () => {
    const r = createSigmaStrategy({ k: 3 }).compute(input([1, 3]));
    assert.ok(Math.abs((r as { timeoutMs: number }).timeoutMs - (2 + 3 * Math.SQRT2)) < 1e-9);
  });
  it('rejects bad options with every problem listed', () => {
    assert.throws(
      () => createStrategy('sigma', { k: -1, emptyWindowMs: 'x', extra: 1 }),
      (err: unknown) => err instanceof InvalidConfigError && err.problems.length === 3,
    );
  });
});

describe('quantile', () => {
  it('is the ⌈(1 − α)·n⌉-th smallest value when the window reaches the level', () => {
    const w = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
    const q = createQuantileStrategy();
    assert.deepEqual(q.compute(input(w, 0.01)), {
      timeoutMs: 99,
      method: 'order-statistic',
      reason: 'p99 of 100 calls = 99 ms',
    });
    assert.equal((q.compute(input(w, 0.1)) as { timeoutMs: number }).timeoutMs, 90);
  });
  it('warm-up: a window too small for the level extrapolates the tail above its maximum', () => {
    const w = Array.from({ length: 100 }, (_, i) => i + 1);
    const r = createQuantileStrategy().compute(input(w, 0.001)) as {
      timeoutMs: number;
      method: string;
    };
    // Top 10 % above u = 90 have mean excess 5.5; u + 5.5·ln(0.1 / 0.001) = 90 + 5.5·ln 100.
    assert.equal(r.method, 'tail-extrapolation');
    assert.ok(Math.abs(r.timeoutMs - (90 + 5.5 * Math.log(100))) < 1e-9);
    assert.equal(
      (r as { reason?: string }).reason,
      'p99.9 extrapolated (exponential tail) from 100 calls, max 100 ms = 115 ms',
    );
  });
  it('says when the window is too small and its maximum is the answer', () => {
    assert.equal(
      quantileReason(800, 0.001, 2100, false, 2100),
      "p99.9 is beyond 800 calls: the window's max = 2.1 s",
    );
  });
  it('writes the level with the decimals α needs (α = 0.0007 → p99.93)', () => {
    assert.equal(percentileLabel(0.0007), 'p99.93');
    assert.equal(percentileLabel(0.001), 'p99.9');
    assert.equal(percentileLabel(0.05), 'p95');
    const w = Array.from({ length: 3420 }, (_, i) => i + 1);
    const r = createQuantileStrategy().compute(input(w, 0.0007)) as { reason?: string };
    assert.equal(r.reason, 'p99.93 of 3 420 calls = 3.4 s');
  });
  it('gives the p99 of the sample durations at α = 0.01 (15.5 s, SPEC §2)', () => {
    const r = createQuantileStrategy().compute(input([...seedSampleDurationsMs()], 0.01));
    assert.equal(Math.round((r as { timeoutMs: number }).timeoutMs / 100) / 10, 15.5);
  });
  it('fails with a typed error below minSamples, so the broker keeps the old value', () => {
    assert.throws(() => createQuantileStrategy().compute(input([])), InsufficientDataError);
    assert.throws(
      () => createQuantileStrategy({ minSamples: 10 }).compute(input([1, 2, 3])),
      InsufficientDataError,
    );
  });
});

describe('rto', () => {
  it('replays RFC 6298: SRTT = R, RTTVAR = R/2, then the smoothed updates; + 4·RTTVAR', () => {
    // R = 100: SRTT 100, RTTVAR 50. R = 200: RTTVAR = 0.75·50 + 0.25·100 = 62.5; SRTT = 112.5.
    const r = createRtoStrategy().compute(input([100, 200])) as { timeoutMs: number };
    assert.equal(r.timeoutMs, 112.5 + 4 * 62.5);
    const k8 = createRtoStrategy({ k: 8 }).compute(input([100, 200])) as { timeoutMs: number };
    assert.equal(k8.timeoutMs, 112.5 + 8 * 62.5);
    assert.equal(
      (r as { reason?: string }).reason,
      'SRTT 113 ms + 4 × RTTVAR 63 ms over 2 calls = 363 ms (RFC 6298)',
    );
  });
});

describe('adaptive', () => {
  const w = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000 ms, one request per ms
  const ts = w.map((_, i) => 1_000_000 + i);
  type Out = { timeoutMs: number; method: string; reason: string; state: { correction: number } };
  const run = (
    previous?: { servedMs: number; computedAtMs: number; state?: Record<string, unknown> },
    options: Record<string, unknown> = {},
  ) =>
    // The single tracker's maths (calibration "single"; the mixture's: mixture.test.ts).
    createAdaptiveStrategy({ calibration: 'single', ...options }).compute({
      endpoint: 'e',
      durationsMs: w,
      timestampsMs: ts,
      alpha: 0.01,
      previous,
    }) as unknown as Out;

  it('starts at the window quantile: the plain 1 − α order statistic, correction 0', () => {
    const r = run();
    assert.equal(r.timeoutMs, 990);
    assert.equal(r.state.correction, 0);
    assert.match(r.reason, /^p99 of 1 000 calls = 990 ms/);
  });
  it('raises the timeout after more than α of the requests exceeded it, per request, saturated', () => {
    // Since t = 1 000 900: the last 100 requests, 901..1000 ms, all above the 900 ms then in force.
    // Saturation: at most ⌈1 + 3·1 + 1⌉ = 5 of them count; γ·(5 − 100·α) = 0.1·4 = 0.4 IQR.
    const r = run({ servedMs: 900, computedAtMs: 1_000_900, state: { v: 2, correction: 0 } });
    assert.ok(Math.abs(r.state.correction - 0.4) < 1e-12);
    // IQR = 750 − 250 = 500 ms: 990 + 0.4 × 500 = 1190 ms.
    assert.ok(Math.abs(r.timeoutMs - 1190) < 1e-9);
    assert.match(r.reason, /raised: 100 of 100 calls exceeded 900 ms\) = 1\.2 s$/);
  });
  it('counts every request: 1 of 100 above the timeout (rate α) leaves the correction unchanged', () => {
    const r = run({ servedMs: 999, computedAtMs: 1_000_900, state: { v: 2, correction: 0.3 } });
    assert.ok(Math.abs(r.state.correction - 0.3) < 1e-12);
  });
  it('lowers the timeout after a period without any exceedance', () => {
    const r = run({ servedMs: 5000, computedAtMs: 1_000_900, state: { v: 2, correction: 0 } });
    // 100 hits: −γ·100·α = −0.1 IQR → 990 − 0.1 × 500 = 940 ms.
    assert.ok(Math.abs(r.state.correction + 0.1) < 1e-12);
    assert.ok(Math.abs(r.timeoutMs - 940) < 1e-9);
    assert.match(r.reason, /lowered: 0 of 100 calls exceeded 5\.0 s\) = 940 ms$/);
  });
  it('round-trips its state through JSON, well under the 4096-byte limit', () => {
    let previous = { servedMs: 900, computedAtMs: 1_000_900, state: {} as Record<string, unknown> };
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = run(previous);
      seen.push(r.state.correction);
      const json = JSON.stringify(r.state);
      assert.ok(json.length < 4096);
      previous = { ...previous, state: JSON.parse(json) as Record<string, unknown> };
    }
    // Each batch adds 0.4 until the anti-windup limit, where T reaches the bound:
    // (1.25 × 1000 − 990) / 500 = 0.52 IQR.
    assert.deepEqual(
      seen.map((c) => Math.round(c * 1e9) / 1e9),
      [0.4, 0.52, 0.52],
    );
  });
  it('accepts the former level-space state ({level}) and starts the tracker at 0', () => {
    const r = run({ servedMs: 5000, computedAtMs: 1_000_900, state: { level: 0.00001 } });
    assert.ok(Math.abs(r.state.correction + 0.1) < 1e-12);
    assert.equal(run(undefined).timeoutMs, 990);
  });
  it('never goes above maxOverMaxFactor × the window max, and says so', () => {
    const r = run({ servedMs: 900, computedAtMs: 1_000_900, state: { v: 2, correction: 1 } });
    assert.equal(r.timeoutMs, 1250); // 990 + 1.4 × 500 = 1690 > 1.25 × 1000
    assert.ok(Math.abs(r.state.correction - 0.52) < 1e-12); // anti-windup: no credit beyond it
    assert.equal(r.method, 'tracked-quantile-bounded');
    assert.match(r.reason, /capped at window max 1\.0 s × 1\.25 = 1\.3 s/);
    const tight = run(
      { servedMs: 900, computedAtMs: 1_000_900, state: { v: 2, correction: 1 } },
      { maxOverMaxFactor: 1.1 },
    );
    assert.equal(tight.timeoutMs, 1100);
  });
  it('extrapolates the tail only for a window smaller than 1/α, and still within the bound', () => {
    const r = createAdaptiveStrategy().compute({
      endpoint: 'e',
      durationsMs: w,
      alpha: 0.0001,
    }) as unknown as Out;
    assert.match(r.reason, /extrapolated/);
    assert.ok(r.timeoutMs > 1000 && r.timeoutMs <= 1250, String(r.timeoutMs));
    assert.doesNotMatch(run().reason, /extrapolated/);
  });
  for (const calibration of ['mixture', 'single'] as const) {
    it(`issue 16's burst (${calibration}): 300 slow calls do not run away and the value comes back within 5 computations`, async () => {
      // 300 calls a minute of ~40–120 ms; in minute 30, 300 calls of 2.5–5 s; then normal again.
      let seed = 7;
      const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const d: number[] = [];
      const t: number[] = [];
      for (let m = 0; m < 60; m++) {
        for (let i = 0; i < 300; i++) {
          t.push(m * 60_000 + i * 200);
          d.push(m === 30 ? 2500 + 2500 * rand() : 40 + 80 * rand() * rand());
        }
      }
      const strategy = createAdaptiveStrategy({ calibration });
      let stored: number | undefined;
      let previous: PreviousComputation | undefined;
      const served: number[] = [];
      for (let m = 10; m <= 60; m++) {
        const to = m * 300;
        const from = Math.max(0, to - 5000);
        const window = d.slice(from, to);
        // The strategy alone (runStrategy would also impute calls that end near the timeout).
        const r = await strategy.compute({
          endpoint: 'e',
          durationsMs: window,
          timestampsMs: t.slice(from, to),
          alpha: 0.001,
          nowMs: m * 60_000,
          previous,
        });
        stored = nextStoredMs(r.timeoutMs, { storedMs: stored });
        const s = servedTimeout(stored);
        previous = { servedMs: s, computedAtMs: m * 60_000, state: r.state };
        served.push(s);
        assert.ok(s <= 1.5 * Math.max(...window), `minute ${m}: ${s} ms > 1.5 × window max`);
      }
      // The burst enters the window at minute 31 (index 21) and leaves it at minute 48 (index 38,
      // 5000 calls later); the settled value is the median served 10–16 computations after it.
      const settled = sortedCopy(served.slice(31, 38))[3] as number;
      const back = served.slice(21).findIndex((v) => v <= 1.2 * settled && v * 1.2 >= settled);
      assert.ok(
        back >= 0 && back <= 5,
        `came within 1.2× of ${settled} after ${back} computations`,
      );
      const after = served.slice(21 + back, 38).map(Math.round);
      assert.ok(
        after.every((v) => v <= 1.2 * settled && v * 1.2 >= settled),
        `stays within 1.2× of ${settled}: ${after.join(' ')}`,
      );
    });
  }
});

describe('censoring', () => {
  it('cutting 1 % of requests at the timeout in force does not pull the next timeout down', async () => {
    // 10 000 requests, one per ms; the last 2000 came after the previous computation (T = 400 ms).
    const true_ = Array.from({ length: 10_000 }, (_, i) => 10 + ((i * 7919) % 300)); // 10..309 ms
    const ts = true_.map((_, i) => i);
    const previous = { servedMs: 400, computedAtMs: 8000, state: { level: 0.001 } };
    for (let i = 8000; i < 10_000; i += 100) true_[i] = 2000; // 1 % of recent calls are slow …
    const recorded = true_.map((d, i) => (i >= 8000 && d > 400 ? 400 : d)); // … and were cut at 400 ms
    for (const name of ['quantile', 'adaptive']) {
      const strategy = createStrategy(name);
      const r = await runStrategy(strategy, {
        endpoint: 'e',
        durationsMs: recorded,
        // The caller's sorted copy describes the recorded window; imputation must not read it.
        sortedMs: sortedCopy(recorded),
        timestampsMs: ts,
        alpha: 0.001,
        previous,
      });
      assert.equal(r.censored, 20, name);
      assert.ok(r.timeoutMs >= previous.servedMs, `${name}: ${r.timeoutMs} ≥ ${previous.servedMs}`);
      // Read naively, the cut calls look like 400 ms requests, and the 1 − α quantile falls to 400.
      const naive = await strategy.compute({
        endpoint: 'e',
        durationsMs: recorded,
        timestampsMs: ts,
        alpha: 0.001,
        previous,
      });
      assert.ok(
        r.timeoutMs > naive.timeoutMs,
        `${name}: ${r.timeoutMs} > naive ${naive.timeoutMs}`,
      );
    }
  });
  it('finds only durations at the timeout that started after the previous computation', () => {
    const d = [400, 400.5, 100, 400, 401, 500, 399];
    const ts = [0, 1, 2, 10, 11, 12, 13];
    assert.deepEqual(censoredIndices(d, ts, 400, 10).sort(), [3, 4]);
    assert.deepEqual(censoredIndices(d, undefined, 400, 10), []);
  });
});

describe('registry', () => {
  it('names the known strategies when asked for an unknown one', () => {
    assert.throws(
      () => createStrategy('nope'),
      (err: unknown) =>
        err instanceof UnknownStrategyError &&
        /sigma/.test(err.message) &&
        /quantile/.test(err.message),
    );
  });
});
