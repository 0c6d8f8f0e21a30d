// Spike damping, served margin and clamps against hand-computed values (SPEC §2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SERVING, dampSpike, dampingBase, nextStoredMs, servedTimeout } from './serving.ts';

describe('dampSpike', () => {
  it('stores 2 × old when the new value exceeds 5 × old', () => {
    assert.equal(dampSpike(501, 100), 200);
    assert.equal(dampSpike(10_000, 40), 80);
  });
  it('keeps the new value at exactly 5 × old (the rule is strictly greater)', () => {
    assert.equal(dampSpike(500, 100), 500);
  });
  it('never damps decreases', () => {
    assert.equal(dampSpike(1, 1000), 1);
  });
  it('stores the first value as is (no previous value, unlike the original placeholder)', () => {
    assert.equal(dampSpike(12_345, undefined), 12_345);
  });
  it('honours configured factors', () => {
    assert.equal(dampSpike(301, 100, { spikeFactor: 3, spikeReplaceFactor: 1.5 }), 150);
    assert.equal(dampSpike(299, 100, { spikeFactor: 3, spikeReplaceFactor: 1.5 }), 299);
  });
});

describe('the placeholder rule (dampingBase, nextStoredMs)', () => {
  it('damps against a previous real value', () => {
    assert.equal(dampingBase({ storedMs: 300 }), 300);
    assert.equal(dampingBase({ storedMs: 300, placeholder: false }), 300);
    assert.equal(nextStoredMs(4000, { storedMs: 300 }), 600);
  });
  it('never damps against a placeholder: a real 4000 ms after a 300 ms one is stored as 4000', () => {
    assert.equal(dampingBase({ storedMs: 300, placeholder: true }), undefined);
    assert.equal(nextStoredMs(4000, { storedMs: 300, placeholder: true }), 4000);
  });
  it('stores the first value as is', () => {
    assert.equal(dampingBase(undefined), undefined);
    assert.equal(nextStoredMs(4000, undefined), 4000);
    assert.equal(nextStoredMs(4000, { storedMs: undefined }), 4000);
  });
  it('honours configured factors', () => {
    assert.equal(
      nextStoredMs(400, { storedMs: 100 }, { spikeFactor: 3, spikeReplaceFactor: 1.5 }),
      150,
    );
  });
});

describe('servedTimeout', () => {
  it('adds 1 ms and rounds up at or below 5 ms', () => {
    assert.equal(servedTimeout(5), 6);
    assert.equal(servedTimeout(0.2), 2);
    assert.equal(servedTimeout(4.5), 6);
  });
  it('adds x/10 and rounds up above 5 ms, as the original writes it (x + x / 10)', () => {
    assert.equal(servedTimeout(5.5), 7); // 6.05 → 7
    assert.equal(servedTimeout(100), 110); // 100 + 10 is exactly 110 (100 * 1.1 would give 111)
    assert.equal(servedTimeout(4442.025308356714), 4887);
  });
  it('serves the values where x * 1.1 and x + x/10 differ as the original: 50 → 55, 100 → 110, …', () => {
    // SPEC §2: ceil(x + x/10). In floating point x * 1.1 lands just above these whole numbers.
    const expected: [number, number][] = [
      [50, 55],
      [90, 99],
      [100, 110],
      [110, 121],
      [170, 187],
      [200, 220],
      [10, 11],
      [300, 330],
    ];
    for (const [x, served] of expected) assert.equal(servedTimeout(x), served, `x = ${x}`);
    // The old formula differed on these: the test would catch it coming back.
    assert.equal(Math.ceil(50 * 1.1), 56);
    assert.equal(Math.ceil(100 * 1.1), 111);
  });
  it('equals ceil(x + x / 10) for every whole number 1..100000 (and x + 1 up to 5)', () => {
    const original = (x: number) => Math.ceil(x > 5 ? x + x / 10 : x + 1);
    let differFromTimes11 = 0;
    for (let x = 1; x <= 100_000; x++) {
      const served = servedTimeout(x);
      if (served !== original(x))
        assert.fail(`x = ${x}: served ${served}, original ${original(x)}`);
      if (x > 5 && Math.ceil(x * 1.1) !== served) differFromTimes11++;
    }
    // About 5.5 % of them are where ceil(x * 1.1) is 1 ms more: the sweep covers those cases.
    assert.ok(differFromTimes11 > 4000 && differFromTimes11 < 7000, String(differFromTimes11));
  });
  it('applies another factor as x + x·(f − 1) with f − 1 taken as the decimal it was written as', () => {
    const with125 = { ...DEFAULT_SERVING, marginFactor: 1.25 };
    assert.equal(servedTimeout(100, with125), 125);
    assert.equal(servedTimeout(10, { ...DEFAULT_SERVING, marginFactor: 1 }), 10);
    assert.equal(servedTimeout(10, { ...DEFAULT_SERVING, marginFactor: 1.5 }), 15);
    // A factor with no short decimal form still works (the float difference itself).
    assert.equal(servedTimeout(300, { ...DEFAULT_SERVING, marginFactor: 1 + Math.PI / 100 }), 310);
    // Back to the default after another factor (the fraction is memoised per factor).
    assert.equal(servedTimeout(50), 55);
  });
  it('applies clamps after the margin', () => {
    const opts = { ...DEFAULT_SERVING, minMs: 50, maxMs: 1000 };
    assert.equal(servedTimeout(3, opts), 50);
    assert.equal(servedTimeout(5000, opts), 1000);
    assert.equal(servedTimeout(100, opts), 110);
  });
  it('uses configured margins', () => {
    const opts = { ...DEFAULT_SERVING, marginThresholdMs: 50, marginFactor: 2, marginAddMs: 10 };
    assert.equal(servedTimeout(50, opts), 60);
    assert.equal(servedTimeout(51, opts), 102);
  });
});
