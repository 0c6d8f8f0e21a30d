// Every registered strategy through the conformance suite, then each one's maths by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InsufficientDataError, InvalidConfigError, UnknownStrategyError } from '../core/errors.ts';
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
  const run = (previous?: {
    servedMs: number;
    computedAtMs: number;
    state?: Record<string, unknown>;
  }) =>
    createAdaptiveStrategy({ gamma: 0.1 }).compute({
      endpoint: 'e',
      durationsMs: w,
      timestampsMs: ts,
      alpha: 0.01,
      previous,
    }) as unknown as { timeoutMs: number; state: { level: number; observedRate?: number } };

  it('starts at level α: the plain 1 − α quantile', () => {
    const r = run();
    assert.equal(r.timeoutMs, 990);
    assert.equal(r.state.level, 0.01);
  });
  it('lowers the level (longer timeout) after more than α of the requests exceeded the timeout', () => {
    // Since t = 1 000 900: the last 100 requests, 901..1000 ms, all above the 900 ms then in force.
    const r = run({ servedMs: 900, computedAtMs: 1_000_900, state: { level: 0.01 } });
    assert.equal(r.state.observedRate, 1);
    assert.ok(r.state.level < 0.01);
    assert.ok(r.timeoutMs > 990);
  });
  it('raises the level (shorter timeout) after a period without any exceedance', () => {
    const r = run({ servedMs: 5000, computedAtMs: 1_000_900, state: { level: 0.01 } });
    assert.equal(r.state.observedRate, 0);
    assert.ok(Math.abs(r.state.level - (0.01 + 0.1 * 0.01)) < 1e-12);
    assert.ok(r.timeoutMs <= 990);
  });
  it('keeps the level within [α·minLevelFactor, α·maxLevelFactor]', () => {
    const r = run({ servedMs: 900, computedAtMs: 1_000_900, state: { level: 0.00001 } });
    assert.ok(Math.abs(r.state.level - 0.01 * 0.001) < 1e-15);
    const up = run({ servedMs: 5000, computedAtMs: 1_000_900, state: { level: 0.5 } });
    assert.ok(Math.abs(up.state.level - 0.1) < 1e-12);
  });
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
