// Spike damping, served margin and clamps against hand-computed values (SPEC §2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_SERVING,
  dampSpike,
  dampingBase,
  defaultReason,
  nextStoredMs,
  readableCount,
  readableMs,
  servedTimeout,
  servingReason,
  staleReason,
} from './serving.ts';

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

describe('readableMs, readableCount', () => {
  it('writes ms below 1 s and s above', () => {
    assert.equal(readableMs(0.84), '0.8 ms');
    assert.equal(readableMs(4), '4 ms');
    assert.equal(readableMs(120.4), '120 ms');
    assert.equal(readableMs(999.4), '999 ms');
    assert.equal(readableMs(999.6), '1.0 s');
    assert.equal(readableMs(4938), '4.9 s');
    assert.equal(readableMs(35_708), '35.7 s');
    assert.equal(readableMs(120_000), '120 s');
  });
  it('groups counts by three digits', () => {
    assert.equal(readableCount(987), '987');
    assert.equal(readableCount(3420), '3 420');
    assert.equal(readableCount(1_234_567), '1 234 567');
  });
});

describe('servingReason', () => {
  const serve = (computedMs: number, previous?: number, opts = DEFAULT_SERVING) => {
    const storedMs = nextStoredMs(computedMs, { storedMs: previous }, opts);
    return {
      computedMs,
      dampedAgainstMs: previous,
      storedMs,
      servedMs: servedTimeout(storedMs, opts),
    };
  };

  it('adds the margin to the strategy part', () => {
    const c = { ...serve(4900), strategyReason: 'p99.93 of 3 420 calls = 4.9 s' };
    assert.equal(servingReason(c), 'p99.93 of 3 420 calls = 4.9 s, +10 % margin = 5.4 s');
  });
  it('says the additive margin of a small value', () => {
    assert.equal(
      servingReason({ ...serve(3), strategyReason: 'mean 2 ms + 2 × sd 0.5 ms = 3 ms' }),
      'mean 2 ms + 2 × sd 0.5 ms = 3 ms, +1 ms margin = 4 ms',
    );
  });
  it('its margin is the served one: for every whole number 6..999 the words end at the served value', () => {
    for (let x = 6; x < 1000; x++) {
      const c = serve(x);
      const words = servingReason(c);
      if (!words.endsWith(`margin = ${readableMs(c.servedMs)}`)) assert.fail(`${x}: ${words}`);
    }
  });
  it('names the worker’s value when the strategy gave no reason (older or legacy workers)', () => {
    assert.equal(
      // The words say the served value: 200 + 200 / 10 = 220 (not ceil(200 × 1.1) = 221).
      servingReason(serve(200)),
      'the worker computed 200 ms, +10 % margin = 220 ms',
    );
  });
  it('says what spike damping did', () => {
    const c = { ...serve(52_000, 1000), strategyReason: 'p99.9 of 500 calls = 52.0 s' };
    assert.equal(c.storedMs, 2000);
    assert.equal(
      servingReason(c),
      'p99.9 of 500 calls = 52.0 s; spike: 52.0 s is above 5 × the previous 1.0 s, ' +
        'stored as 2.0 s, +10 % margin = 2.2 s',
    );
  });
  it('does not call a decrease a spike', () => {
    assert.doesNotMatch(servingReason(serve(100, 1000)), /spike/);
  });
  it('says which clamp applied and whose it is', () => {
    const opts = { ...DEFAULT_SERVING, maxMs: 30_000, minMs: 0 };
    const c = serve(40_000, undefined, opts);
    assert.equal(c.servedMs, 30_000);
    assert.match(
      servingReason(c, opts, { maxFromEndpoint: true }),
      /, \+10 % margin = 44\.0 s, clamped to the endpoint's max 30\.0 s$/,
    );
    const low = { ...DEFAULT_SERVING, minMs: 50 };
    assert.match(
      servingReason(serve(10, undefined, low), low),
      /raised to the broker's min 50 ms$/,
    );
  });
  it('follows configured factors', () => {
    const opts = {
      ...DEFAULT_SERVING,
      marginFactor: 1.25,
      spikeFactor: 3,
      spikeReplaceFactor: 1.5,
    };
    const c = serve(400, 100, opts);
    assert.equal(
      servingReason(c, opts),
      'the worker computed 400 ms; spike: 400 ms is above 3 × the previous 100 ms, ' +
        'stored as 150 ms, +25 % margin = 188 ms',
    );
  });
  it('keeps the previous reason for a failure, and names the default before any value', () => {
    assert.equal(
      staleReason('p99 of 10 calls = 1 s'),
      'last computation failed; still serving the previous value: p99 of 10 calls = 1 s',
    );
    assert.match(staleReason(undefined), /still serving the previous value$/);
    assert.equal(defaultReason(100), 'no value computed yet: the default 100 ms');
  });
});
