// The seed forecaster's step logic against small hand-computed cases (SPEC §2, worker steps 2–5).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  INPUT_SHAPE,
  WINDOW_LENGTH,
  applyNegativeRule,
  denormalise,
  holdOut,
  normalise,
  planForecast,
  trainingPairs,
} from './steps.ts';

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('seed steps', () => {
  it('normalises by 100 ms around the mean, and back', () => {
    assert.deepEqual([...normalise([100, 300, 250], 200, 100)], [-1, 1, 0.5]);
    assert.equal(denormalise(0.5, 200, 100), 250);
    assert.equal(denormalise(-1.5, 40, 100), -110);
  });

  it('shapes windows of 8 as 2 sub-sequences of 4 steps with 1 feature', () => {
    assert.equal(WINDOW_LENGTH, 8);
    assert.deepEqual(INPUT_SHAPE, [2, 1, 4, 1]);
  });

  it('makes every 8 consecutive values → the value after them', () => {
    const { x, y, count } = trainingPairs(range(0, 9));
    assert.equal(count, 2);
    assert.deepEqual([...x], [...range(0, 7), ...range(1, 8)]);
    assert.deepEqual([...y], [8, 9]);
    assert.equal(trainingPairs(range(0, 7)).count, 0);
  });

  it('holds out the 8 values just before the last one and takes them out of the training sequence', () => {
    const { sequence, input } = holdOut(Float32Array.from(range(0, 11)));
    assert.deepEqual([...input], range(3, 10));
    assert.deepEqual([...sequence], [0, 1, 2, 11]);
    const nine = holdOut(Float32Array.from(range(1, 9)));
    assert.deepEqual([...nine.input], range(1, 8));
    assert.deepEqual([...nine.sequence], [9]);
    assert.throws(() => holdOut(new Float32Array(8)), RangeError);
  });

  it('plans on the most recent maxSamples, normalised around the mean of the whole window', () => {
    // 100 … 1000 ms: mean 550; the last 9 are 200 … 1000 → z = −3.5 … 4.5.
    const plan = planForecast(
      range(1, 10).map((i) => i * 100),
      { maxSamples: 9, scaleMs: 100 },
    );
    assert.equal(plan.meanMs, 550);
    assert.deepEqual([...plan.input], [-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5]);
    assert.deepEqual([...plan.sequence], [4.5]);
  });

  it('adds mean + 2·sd to a prediction that is not positive until it is', () => {
    assert.equal(applyNegativeRule(7, 5), 7); // positive: unchanged
    assert.equal(applyNegativeRule(-3, 5), 2); // one step
    assert.equal(applyNegativeRule(-10, 5), 5); // −10 → −5 → 0 → 5: zero is not positive
    assert.equal(applyNegativeRule(0, 5), 5);
    assert.equal(applyNegativeRule(-1e12, 3), 2); // closed form, no billion-step loop
    assert.ok(Number.isNaN(applyNegativeRule(-1, 0)));
  });
});
