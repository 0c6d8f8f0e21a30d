// Client SDK: a retry budget (token bucket) that caps hedges and retries at a share of the traffic.
// No dependency beyond the platform; erasable TypeScript only (no enums, no parameter properties).

/** Options of {@link createRetryBudget} (and `retryBudget` of `createTimeoutClient`). */
export interface RetryBudgetOptions {
  /**
   * Extra requests allowed per original request: each original request deposits this many
   * tokens, each hedge or retry withdraws one. 0.1 lets one request in ten be hedged or retried.
   * Default 0.1 (a fraction, 0–1).
   */
  ratio?: number;
  /**
   * Extra requests allowed per second whatever the traffic, so that a client that has just started
   * or sends little can still hedge. This is the one part of the budget that does not shrink with
   * traffic: over a T-second outage it allows at most `minPerSecond` × (T + 1) extra requests.
   * Default 1 (per second); 0 for none.
   */
  minPerSecond?: number;
  /**
   * How long a deposit (and a withdrawal) counts, in ms: tokens earned by traffic an hour ago do
   * not pay for a burst of hedges now. Between 1000 and 60000. Default 10000 (ms).
   */
  ttlMs?: number;
}

/** A token bucket shared by the hedges and retries of one endpoint (or of whatever shares it). */
export interface RetryBudget {
  /** Counts one original request: adds `ratio` tokens. */
  deposit(): void;
  /** Takes one token for a hedge or a retry; `false` (and nothing taken) when there is none. */
  tryWithdraw(): boolean;
  /** Tokens available now (deposits of the last `ttlMs` less withdrawals, plus the reserve). */
  balance(): number;
}

const DEFAULT_RATIO = 0.1;
const DEFAULT_MIN_PER_SECOND = 1;
const DEFAULT_TTL_MS = 10_000;
/** Deposits and withdrawals are counted in these units, so sums stay exact integers (0.1 × 10 = 1). */
const UNIT = 1000;
/** The window is kept in this many slots; a deposit expires between ttl·(1−1/SLOTS) and ttl. */
const SLOTS = 10;

function checked(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new TypeError(
      `retryBudget: ${name} must be a number from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}

/**
 * A retry budget as Finagle's `RetryBudget` and gRPC's retry throttling describe it: every original
 * request deposits `ratio` of a token, every hedge or retry withdraws a whole one, deposits count
 * for `ttlMs`, and a reserve refilled at `minPerSecond` (holding at most one second's worth) pays
 * when the deposits do not. During an outage, when every request is slow or failing, hedges and
 * retries therefore add at most `ratio` × requests + `minPerSecond` × seconds calls upstream,
 * instead of doubling the load on a service that is already struggling.
 *
 * `now` is the clock in ms (default `performance.now`), for tests.
 */
export function createRetryBudget(
  options: RetryBudgetOptions = {},
  now: () => number = () => performance.now(),
): RetryBudget {
  const ratio = checked('ratio', options.ratio, DEFAULT_RATIO, 0, 1);
  const minPerSecond = checked(
    'minPerSecond',
    options.minPerSecond,
    DEFAULT_MIN_PER_SECOND,
    0,
    1e6,
  );
  const ttlMs = checked('ttlMs', options.ttlMs, DEFAULT_TTL_MS, 1000, 60_000);
  const depositUnits = Math.round(ratio * UNIT);
  const slotMs = ttlMs / SLOTS;

  // The windowed sum of deposits (+) and withdrawals (−): a ring of SLOTS slots, each the sum of
  // one slotMs; `slotAt` is the absolute slot number of the newest one.
  const slots = new Float64Array(SLOTS);
  let slotAt = Math.floor(now() / slotMs);
  // The reserve: a token bucket of at most one second's worth, refilled continuously.
  let reserve = minPerSecond;
  let reserveAt = now();

  function advance(): void {
    const t = now();
    const slot = Math.floor(t / slotMs);
    // Slots between the newest one and now have expired: zero them (all of them after a long idle).
    for (let s = slotAt + 1; s <= Math.min(slot, slotAt + SLOTS); s++) slots[s % SLOTS] = 0;
    if (slot > slotAt) slotAt = slot;
    reserve = Math.min(minPerSecond, reserve + ((t - reserveAt) / 1000) * minPerSecond);
    reserveAt = t;
  }

  function windowUnits(): number {
    let sum = 0;
    for (const v of slots) sum += v;
    return sum;
  }

  return {
    deposit() {
      advance();
      slots[slotAt % SLOTS] = (slots[slotAt % SLOTS] ?? 0) + depositUnits;
    },
    tryWithdraw() {
      advance();
      if (windowUnits() >= UNIT) {
        slots[slotAt % SLOTS] = (slots[slotAt % SLOTS] ?? 0) - UNIT;
        return true;
      }
      if (reserve >= 1) {
        reserve -= 1;
        return true;
      }
      return false;
    },
    balance() {
      advance();
      return Math.max(0, windowUnits()) / UNIT + Math.floor(reserve);
    },
  };
}
