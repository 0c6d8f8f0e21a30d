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
  it('multiplies by 1.1 and rounds up above 5 ms', () => {
    assert.equal(servedTimeout(5.5), 7); // 6.05 → 7
    assert.equal(servedTimeout(100), 111); // 110.00000000000001 → 111, as Python's math.ceil(100 * 1.1)
    assert.equal(servedTimeout(4442.025308356714), 4887);
  });
  it('keeps the float behaviour of the original: x * 1.1 rounded up as computed', () => {
    assert.equal(servedTimeout(10), 11); // 10 * 1.1 is exactly 11 in binary floating point
    assert.equal(servedTimeout(200), 221); // 220.00000000000003 → 221, as Python's math.ceil
    assert.equal(servedTimeout(300), 330); // 330 exactly
  });
  it('applies clamps after the margin', () => {
    const opts = { ...DEFAULT_SERVING, minMs: 50, maxMs: 1000 };
    assert.equal(servedTimeout(3, opts), 50);
    assert.equal(servedTimeout(5000, opts), 1000);
    assert.equal(servedTimeout(100, opts), 111);
  });
  it('uses configured margins', () => {
    const opts = { ...DEFAULT_SERVING, marginThresholdMs: 50, marginFactor: 2, marginAddMs: 10 };
    assert.equal(servedTimeout(50, opts), 60);
    assert.equal(servedTimeout(51, opts), 102);
  });
});
