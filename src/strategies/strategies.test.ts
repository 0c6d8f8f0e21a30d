// Every registered strategy through the conformance suite, then each one's maths by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InsufficientDataError, InvalidConfigError, UnknownStrategyError } from '../core/errors.ts';
import { seedSampleDurationsMs } from '../sources/seed-sample.ts';
import { createQuantileStrategy } from './quantile.ts';
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
    assert.deepEqual(r, { timeoutMs: 300, method: 'no-data-rule' });
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
  it('is the ⌈(1 − α)·n⌉-th smallest value', () => {
    const w = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
    const q = createQuantileStrategy();
    assert.equal((q.compute(input(w, 0.01)) as { timeoutMs: number }).timeoutMs, 99);
    assert.equal((q.compute(input(w, 0.1)) as { timeoutMs: number }).timeoutMs, 90);
    assert.equal((q.compute(input(w, 0.001)) as { timeoutMs: number }).timeoutMs, 100);
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
