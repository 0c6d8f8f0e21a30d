// Strategy `seed` through its thread pool: the original's rules, presets, budget, reproducibility.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { InvalidConfigError } from '../../core/errors.ts';
import { seedSampleDurationsMs } from '../../sources/seed-sample.ts';
import { createStrategy } from '../registry.ts';
import { createSigmaStrategy } from '../sigma.ts';
import { syntheticWindow } from '../timeout-strategy.conformance.ts';
import { resolveSeedOptions, SEED_PRESETS } from './options.ts';
import { acquireForecastPool } from './pool.ts';
import { createSeedStrategy, type SeedStrategy } from './strategy.ts';
import { planForecast } from './steps.ts';

const small = { filters: 4, epochs: 3, maxSamples: 200, patience: 0 };
const strategies: SeedStrategy[] = [];
function seed(options: Record<string, unknown> = small): SeedStrategy {
  const s = createSeedStrategy(options);
  strategies.push(s);
  return s;
}
after(async () => {
  await Promise.all(strategies.map((s) => s.close()));
});

const input = (durationsMs: number[]) => ({ endpoint: 'e', durationsMs, alpha: 0.001 });
const sample = [...seedSampleDurationsMs()];

describe('seed strategy', () => {
  it('is registered and announces its time budget', () => {
    const s = createStrategy('seed', small) as SeedStrategy;
    strategies.push(s);
    assert.equal(s.name, 'seed');
    assert.equal(s.budgetMs, SEED_PRESETS.default.budgetMs);
    assert.equal(typeof s.close, 'function');
  });

  it('has the presets: original = 128 filters, 100 epochs, 5000 samples, Adam 0.008, no early stop', () => {
    const o = resolveSeedOptions({ preset: 'original' });
    assert.deepEqual(
      [o.filters, o.epochs, o.maxSamples, o.learningRate, o.patience, o.batchSize],
      [128, 100, 5000, 0.008, 0, 32],
    );
    const d = resolveSeedOptions();
    assert.equal(d.preset, 'default');
    assert.ok(d.filters < 128 && d.epochs < 100 && d.maxSamples < 5000 && d.patience > 0);
    assert.ok(d.budgetMs <= 10_000);
    const tuned = resolveSeedOptions({ preset: 'original', epochs: 7, budgetMs: 1234, seed: 9 });
    assert.deepEqual([tuned.filters, tuned.epochs, tuned.budgetMs, tuned.seed], [128, 7, 1234, 9]);
  });

  it('rejects unknown and bad options, listing every problem', () => {
    assert.throws(
      () => resolveSeedOptions({ preset: 'fast', filters: 0, learningRate: -1, extra: true }),
      (err: unknown) => err instanceof InvalidConfigError && err.problems.length === 4,
    );
  });

  it('follows the n = 0 rule and mean + 2·sd below 50 samples, as a fallback', async () => {
    const s = seed();
    assert.deepEqual(await s.compute(input([])), {
      timeoutMs: 300,
      method: 'fallback',
      state: { reason: 'no-data' },
      placeholder: true,
      reason:
        "no durations, no forecast: no durations in the window: the original's rule, mean 100 ms + 2 × sd 100 ms = 300 ms",
    });
    const few = sample.slice(0, 49);
    const r = await s.compute(input(few));
    assert.equal(r.method, 'fallback');
    assert.deepEqual(r.state, { reason: 'few-samples' });
    assert.equal(r.placeholder, undefined); // computed from real durations: a level
    assert.match(r.reason ?? '', /^too few calls to train the forecast: mean .* of 49 calls = /);
    const sigma = createSigmaStrategy().compute(input(few)) as { timeoutMs: number };
    assert.equal(r.timeoutMs, sigma.timeoutMs);
  });

  it('forecasts from 50 samples on, on a pool thread, and says so', async () => {
    const r = await seed().compute(input(sample.slice(0, 50)));
    assert.equal(r.method, 'forecast');
    assert.ok(Number.isFinite(r.timeoutMs) && r.timeoutMs > 0);
    assert.equal((r.state as { epochs: number }).epochs, 3);
    assert.match(
      r.reason ?? '',
      /^ConvLSTM forecast of the next call from 50 calls \(3 epochs\) = /,
    );
    // The same task straight on the pool: it ran on another thread than this one.
    const pool = acquireForecastPool();
    try {
      const plan = planForecast(sample, { maxSamples: 100, scaleMs: 100 });
      const task = await pool.run({
        sequence: plan.sequence,
        input: plan.input,
        model: { ...resolveSeedOptions(small), epochs: 1 },
        deadlineMs: Date.now() + 10_000,
      });
      assert.notEqual(task.threadId, threadId);
      assert.ok(task.threadId > 0);
    } finally {
      await pool.release();
    }
  });

  it('is reproducible: same data and seed → same value, from separate strategies', async () => {
    const w = syntheticWindow(600, 4);
    const a = await seed({ ...small, seed: 5 }).compute(input(w));
    const b = await seed({ ...small, seed: 5 }).compute(input(w));
    assert.equal(a.method, 'forecast');
    assert.equal(a.timeoutMs, b.timeoutMs);
    const c = await seed({ ...small, seed: 6 }).compute(input(w));
    assert.notEqual(c.timeoutMs, a.timeoutMs);
  });

  it('honours the time budget: a model too big for it gives the best epoch so far or the fallback', async () => {
    const s = seed({ filters: 64, epochs: 1000, maxSamples: 5000, patience: 0, budgetMs: 800 });
    const w = syntheticWindow(5000, 8);
    const started = Date.now();
    const r = await s.compute(input(w));
    const took = Date.now() - started;
    assert.ok(took < 800 + 400, `took ${took} ms for a budget of 800 ms`);
    const state = r.state as { reason?: string; stoppedBy?: string };
    if (r.method === 'fallback') {
      assert.equal(state.reason, 'budget');
      const sigma = createSigmaStrategy().compute(input(w)) as { timeoutMs: number };
      assert.equal(r.timeoutMs, sigma.timeoutMs);
    } else {
      assert.equal(state.stoppedBy, 'budget');
    }
  });
});
