// Unit tests of the retry budget on a controlled clock: deposits, withdrawals, expiry, the reserve.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRetryBudget } from './retry-budget.ts';

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('createRetryBudget', () => {
  it('allows one withdrawal per 1/ratio deposits once the reserve is spent', () => {
    const c = clock();
    const b = createRetryBudget({ ratio: 0.1, minPerSecond: 0 }, c.now);
    assert.equal(b.tryWithdraw(), false, 'nothing deposited, no reserve');
    for (let i = 0; i < 9; i++) b.deposit();
    assert.equal(b.tryWithdraw(), false, '9 × 0.1 < 1');
    b.deposit();
    assert.equal(b.tryWithdraw(), true, '10 × 0.1 = 1 exactly (integer units, no 0.999…)');
    assert.equal(b.tryWithdraw(), false);
    for (let i = 0; i < 100; i++) b.deposit();
    let allowed = 0;
    while (b.tryWithdraw()) allowed++;
    assert.equal(allowed, 10);
  });

  it('the reserve pays minPerSecond withdrawals per second, holding at most one second of them', () => {
    const c = clock();
    const b = createRetryBudget({ ratio: 0.1, minPerSecond: 3 }, c.now);
    let allowed = 0;
    while (b.tryWithdraw()) allowed++;
    assert.equal(allowed, 3, 'a full reserve at start');
    c.advance(500);
    allowed = 0;
    while (b.tryWithdraw()) allowed++;
    assert.equal(allowed, 1, 'half a second refills 1.5 tokens: one whole');
    c.advance(60_000);
    allowed = 0;
    while (b.tryWithdraw()) allowed++;
    assert.equal(allowed, 3, 'a long pause does not bank more than one second of reserve');
  });

  it('deposits expire after ttlMs', () => {
    const c = clock();
    const b = createRetryBudget({ ratio: 0.5, minPerSecond: 0, ttlMs: 1000 }, c.now);
    for (let i = 0; i < 10; i++) b.deposit();
    assert.equal(b.balance(), 5);
    c.advance(500);
    assert.equal(b.balance(), 5, 'within the ttl');
    c.advance(600);
    assert.equal(b.balance(), 0, 'expired');
    assert.equal(b.tryWithdraw(), false);
  });

  it('over a long outage, withdrawals stay within ratio × deposits + minPerSecond × seconds', () => {
    const c = clock();
    const ratio = 0.2;
    const minPerSecond = 2;
    const b = createRetryBudget({ ratio, minPerSecond, ttlMs: 10_000 }, c.now);
    let deposits = 0;
    let withdrawals = 0;
    // 60 s at 100 requests/s, each wanting a retry.
    for (let ms = 0; ms < 60_000; ms += 10) {
      c.advance(10);
      b.deposit();
      deposits++;
      if (b.tryWithdraw()) withdrawals++;
    }
    const bound = ratio * deposits + minPerSecond * (60 + 1);
    assert.ok(withdrawals <= bound, `${withdrawals} withdrawals > bound ${bound}`);
    assert.ok(withdrawals >= ratio * deposits * 0.9, `the budget is used: ${withdrawals}`);
  });

  for (const [what, bad] of [
    ['ratio above 1', { ratio: 1.5 }],
    ['ratio negative', { ratio: -0.1 }],
    ['ratio NaN', { ratio: Number.NaN }],
    ['minPerSecond negative', { minPerSecond: -1 }],
    ['ttlMs under a second', { ttlMs: 10 }],
    ['ttlMs over a minute', { ttlMs: 120_000 }],
  ] as const) {
    it(`rejects ${what} with a TypeError`, () => {
      assert.throws(() => createRetryBudget(bad), TypeError);
    });
  }
});
