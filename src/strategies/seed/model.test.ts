// The tfjs forecaster in-process: the fast filter gradient, seeded weights, learning, the deadline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { installFastConv2DBackpropFilter } from './conv-backprop-filter.ts';
import { disposeForecaster, predictWindows, trainForecaster, type ModelOptions } from './model.ts';
import { orthogonalMatrix } from './orthogonal.ts';
import { seededNormal, seededUniform } from '../../core/random.ts';
import { seededPermutation } from './random.ts';
import { normalise, trainingPairs } from './steps.ts';

const fast: ModelOptions = {
  filters: 4,
  epochs: 20,
  learningRate: 0.008,
  batchSize: 32,
  patience: 3,
  minDelta: 0.01,
  shuffle: true,
  seed: 42,
};

/** A repeating cycle of durations (ms) plus N(0, 3 ms) noise, normalised around its mean. */
function cycleSeries(n: number, seed = 7): Float32Array {
  const cycle = [10, 50, 20, 200, 30, 80, 15];
  const noise = seededNormal(seededUniform(seed));
  const d = Array.from({ length: n }, (_, i) => (cycle[i % cycle.length] as number) + 3 * noise());
  return normalise(d, d.reduce((a, b) => a + b, 0) / n, 100);
}

describe('seed model', () => {
  it('computes the filter gradient exactly as tfjs does, on valid and same padding, strides 1 and 2', async () => {
    // Runs first: tfjs' own kernel answers the reference, then the fast one replaces it.
    await tf.setBackend('cpu');
    const cases = [
      { x: [3, 1, 4, 2], f: [1, 2, 2, 5], strides: 1, pad: 'valid' },
      { x: [2, 5, 6, 3], f: [2, 3, 3, 4], strides: 2, pad: 'same' },
      { x: [4, 1, 3, 8], f: [1, 2, 8, 32], strides: 1, pad: 'same' },
    ] as const;
    const gradient = () =>
      cases.map(({ x, f, strides, pad }, i) => {
        const xs = tf.randomNormal<tf.Rank.R4>([...x], 0, 1, 'float32', i + 1);
        const fs = tf.randomNormal<tf.Rank.R4>([...f], 0, 1, 'float32', i + 11);
        const g = tf.grad((w) =>
          tf
            .conv2d(xs, w as tf.Tensor4D, strides, pad)
            .square()
            .sum(),
        )(fs);
        return g.arraySync() as number[][][][];
      });
    const reference = gradient();
    installFastConv2DBackpropFilter();
    const ours = gradient();
    const a = reference.flat(4);
    const b = ours.flat(4);
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) {
      const [u, v] = [a[i] as number, b[i] as number];
      if (!(Math.abs(u - v) <= 1e-4 * (1 + Math.abs(u)))) assert.fail(`element ${i}: ${u} ≠ ${v}`);
    }
  });

  it('draws orthogonal matrices like Keras: orthonormal rows (wide) or columns (tall), seeded', () => {
    for (const [rows, cols] of [
      [16, 64],
      [64, 16],
      [8, 8],
    ] as const) {
      const m = orthogonalMatrix(rows, cols, 5);
      const k = Math.min(rows, cols);
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          let dot = 0;
          for (let t = 0; t < Math.max(rows, cols); t++) {
            dot +=
              rows <= cols
                ? (m[i * cols + t] as number) * (m[j * cols + t] as number)
                : (m[t * cols + i] as number) * (m[t * cols + j] as number);
          }
          assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-5, `${rows}×${cols} [${i},${j}] ${dot}`);
        }
      }
    }
    assert.deepEqual(orthogonalMatrix(4, 8, 1), orthogonalMatrix(4, 8, 1));
    assert.notDeepEqual(orthogonalMatrix(4, 8, 1), orthogonalMatrix(4, 8, 2));
    assert.deepEqual(
      seededPermutation(5, seededUniform(3)),
      seededPermutation(5, seededUniform(3)),
    );
  });

  it('learns a repeating cycle: forecast error far below predicting the mean (fixed seed, few epochs)', async () => {
    const z = cycleSeries(360);
    const train = trainingPairs(z.subarray(0, 200));
    const test = trainingPairs(z.subarray(200)); // windows it never saw
    const outcome = await trainForecaster(train, fast);
    assert.ok(outcome.model, `no model (${outcome.stoppedBy})`);
    const p = predictWindows(outcome.model, test.x);
    disposeForecaster(outcome.model);
    let mse = 0;
    let meanMse = 0; // the mean of a normalised series is 0
    for (let i = 0; i < test.count; i++) {
      mse += ((p[i] as number) - (test.y[i] as number)) ** 2 / test.count;
      meanMse += (test.y[i] as number) ** 2 / test.count;
    }
    assert.ok(mse < meanMse / 10, `forecast MSE ${mse} vs mean ${meanMse}`);
  });

  it('is reproducible: same data and seed → same prediction; another seed → another', async () => {
    const z = cycleSeries(120, 3);
    const pairs = trainingPairs(z.subarray(0, 112));
    const input = z.slice(112);
    const run = async (seed: number) => {
      const o = await trainForecaster(pairs, { ...fast, epochs: 3, seed });
      const y = predictWindows(o.model!, input)[0];
      disposeForecaster(o.model!);
      return y;
    };
    const a = await run(1);
    assert.equal(await run(1), a);
    assert.notEqual(await run(2), a);
  });

  it('stops at the deadline and keeps the best completed epoch; none completed → no model', async () => {
    const pairs = trainingPairs(cycleSeries(300));
    const none = await trainForecaster(pairs, fast, Date.now() - 1);
    assert.deepEqual(none, { model: null, epochs: 0, loss: null, stoppedBy: 'budget' });
    const started = Date.now();
    const cut = await trainForecaster(
      pairs,
      { ...fast, epochs: 100_000, patience: 0 },
      started + 1500,
    );
    const took = Date.now() - started;
    assert.equal(cut.stoppedBy, 'budget');
    assert.ok(took < 1500 + 1000, `took ${took} ms`); // deadline + at most one mini-batch and set-up
    if (cut.epochs > 0) assert.ok(cut.model && Number.isFinite(cut.loss));
    if (cut.model) disposeForecaster(cut.model);
    const before = tf.memory().numTensors;
    const o = await trainForecaster(pairs, { ...fast, epochs: 2 });
    if (o.model) disposeForecaster(o.model);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  });
});
