// The broker's post-processing of computed values: spike damping, the served margin, the default.
// The backtest imports these same functions so that replayed timeouts equal served ones.

/** Factors of SPEC §2; every one configurable. */
export interface ServingOptions {
  /** A new value above `spikeFactor × old` counts as a spike. Default 5 (×). */
  spikeFactor: number;
  /** A spike is stored as `spikeReplaceFactor × old`. Default 2 (×). */
  spikeReplaceFactor: number;
  /** Values above this get the multiplicative margin, others the additive one. Default 5 (ms). */
  marginThresholdMs: number;
  /**
   * Multiplicative margin for values above the threshold: x is served as x + x·(f − 1), computed
   * as the original's x + x/10 for the default. Default 1.1 (×).
   */
  marginFactor: number;
  /** Additive margin for values at or below the threshold. Default 1 (ms). */
  marginAddMs: number;
  /** Served when nothing has been computed yet. Default 100 (ms). */
  defaultTimeoutMs: number;
  /** Lower clamp on the served value. Default 0 (ms, no clamp). */
  minMs: number;
  /** Upper clamp on the served value. Default Infinity (ms, no clamp). */
  maxMs: number;
}

export const DEFAULT_SERVING: Readonly<ServingOptions> = Object.freeze({
  spikeFactor: 5,
  spikeReplaceFactor: 2,
  marginThresholdMs: 5,
  marginFactor: 1.1,
  marginAddMs: 1,
  defaultTimeoutMs: 100,
  minMs: 0,
  maxMs: Number.POSITIVE_INFINITY,
});

/**
 * Spike damping: a new value more than `spikeFactor` times the previous stored one is stored as
 * `spikeReplaceFactor × old`. Decreases are never damped. Without a previous successful value
 * (`old` undefined) the new value is stored as is — unlike the original, where a failed call's
 * placeholder went through this rule and could double a value.
 */
export function dampSpike(
  newMs: number,
  oldMs: number | undefined,
  opts: Pick<ServingOptions, 'spikeFactor' | 'spikeReplaceFactor'> = DEFAULT_SERVING,
): number {
  if (oldMs === undefined || !(oldMs > 0)) return newMs;
  return newMs > opts.spikeFactor * oldMs ? opts.spikeReplaceFactor * oldMs : newMs;
}

/**
 * A stored value as the damping of the next one sees it. `placeholder` is carried as data from
 * the strategy that computed the value (`StrategyResult.placeholder`: e.g. the no-data rule of
 * `sigma` and `seed`), never recognised by its number or by a strategy's method name.
 */
export interface DampingReference {
  /** The stored value (after damping), ms; undefined while nothing was computed. */
  storedMs: number | undefined;
  /** The value was computed without observations; the next value is not damped against it. */
  placeholder?: boolean | undefined;
}

/**
 * The one placeholder rule, used by the broker's cycle and the backtest's replay alike: the value
 * the next computation is damped against — undefined (no damping) when there is none or when it
 * is a placeholder. The original damped against its no-data answer too, so a real 4000 ms after a
 * 300 ms placeholder was stored as 600 ms and took cycles to catch up (SPEC §2, flaws).
 */
export function dampingBase(previous: DampingReference | undefined): number | undefined {
  return previous?.placeholder === true ? undefined : previous?.storedMs;
}

/** The value to store for a new computation `newMs`: damped against the previous real value. */
export function nextStoredMs(
  newMs: number,
  previous: DampingReference | undefined,
  opts: Pick<ServingOptions, 'spikeFactor' | 'spikeReplaceFactor'> = DEFAULT_SERVING,
): number {
  return dampSpike(newMs, dampingBase(previous), opts);
}

/**
 * `marginFactor − 1` as a decimal fraction `num / den` (den a power of ten), the form a factor is
 * written in: 1.1 → 1/10, 1.25 → 25/100. Memoised for the last factor (every served read asks).
 */
let lastMargin: { factor: number; num: number; den: number } | undefined;
function marginFraction(factor: number): { num: number; den: number } {
  if (lastMargin?.factor === factor) return lastMargin;
  const extra = factor - 1;
  let num = extra;
  let den = 1;
  // 1.1 − 1 is 0.10000000000000009 in binary floating point: find the decimal it was written as.
  for (let digits = 0; digits <= 9; digits++, den *= 10) {
    const n = Math.round(extra * den);
    if (Math.abs(n / den - extra) <= 1e-12 * Math.max(1, Math.abs(extra))) {
      num = n;
      break;
    }
  }
  if (den > 1e9) den = 1; // no short decimal: the fraction is the float itself, over 1
  lastMargin = { factor, num, den };
  return lastMargin;
}

/**
 * The served value for a stored one: `ceil(x > 5 ? x + x/10 : x + 1)`, then clamped. The margin
 * is computed as the original writes it, `x + x / 10` (SPEC §2), not `x * 1.1`: in binary floating
 * point the two differ for about 5.5 % of whole numbers (50 → 55, not 56; 100 → 110, not 111).
 * Another `marginFactor` f is applied the same way, `x + x · num / den` with f − 1 = num / den.
 */
export function servedTimeout(
  storedMs: number,
  opts: Pick<
    ServingOptions,
    'marginThresholdMs' | 'marginFactor' | 'marginAddMs' | 'minMs' | 'maxMs'
  > = DEFAULT_SERVING,
): number {
  return Math.min(opts.maxMs, Math.max(opts.minMs, marginedMs(storedMs, opts)));
}

/** The stored value with its margin, rounded up, before clamps (shared by the value and its reason). */
function marginedMs(
  storedMs: number,
  opts: Pick<ServingOptions, 'marginThresholdMs' | 'marginFactor' | 'marginAddMs'>,
): number {
  if (storedMs > opts.marginThresholdMs) {
    const { num, den } = marginFraction(opts.marginFactor);
    // With the default (1/10) this is storedMs + storedMs / 10 exactly: storedMs * 1 is storedMs.
    return Math.ceil(storedMs + (storedMs * num) / den);
  }
  return Math.ceil(storedMs + opts.marginAddMs);
}

// --- The reason behind a served value, in words -------------------------------------------

/** Longest reason a strategy (or a worker) may give, in characters; the broker's part comes on top. */
export const MAX_STRATEGY_REASON_CHARS = 300;

/**
 * A duration for people: ms below 1 s ("0.8 ms", "120 ms"), s above ("4.9 s", "35.7 s",
 * "120 s"). One decimal where it carries information, none where it would be noise.
 */
export function readableMs(ms: number): string {
  if (!Number.isFinite(ms)) return `${ms} ms`;
  const abs = Math.abs(ms);
  if (abs < 10) return `${trimZero(ms.toFixed(1))} ms`;
  if (abs < 999.5) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return Math.abs(s) < 99.95 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}

function trimZero(text: string): string {
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}

/** A count with thin groups of three digits ("3 420"), as the reasons write them. */
export function readableCount(n: number): string {
  const digits = String(Math.round(n));
  return digits.length <= 3 ? digits : digits.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** A factor or a share without float noise: 1.1 → "1.1", 0.1 → "10 %" (see `readablePercent`). */
function readableNumber(x: number): string {
  return String(Number(x.toPrecision(6)));
}

/** (factor − 1) as a percentage, e.g. 1.1 → "10 %". */
function readablePercent(factor: number): string {
  return `${readableNumber((factor - 1) * 100)} %`;
}

/** Where the clamps in force come from, for the words: the endpoint's own setting or the broker's. */
export interface ClampOrigin {
  /** The lower clamp is the endpoint's `minMs` (else the broker's `--min-ms`). Default false. */
  minFromEndpoint?: boolean | undefined;
  /** The upper clamp is the endpoint's `maxMs` (else the broker's `--max-ms`). Default false. */
  maxFromEndpoint?: boolean | undefined;
}

/** One computation as served: what the strategy said and the numbers the serving rules made. */
export interface ServedComputation {
  /** The strategy's own reason (`StrategyResult.reason`); absent from older workers. */
  strategyReason?: string | undefined;
  /** The value the worker computed, before damping (ms). */
  computedMs: number;
  /** The value damping was judged against (`dampingBase`), undefined when none. */
  dampedAgainstMs: number | undefined;
  /** The stored value, after damping (ms). */
  storedMs: number;
  /** The served value, after the margin and the clamps (ms). */
  servedMs: number;
}

/**
 * The full reason of a served value: the strategy's part, then in words what the serving rules
 * did to it — spike damping, the margin, a clamp. Pure, and a handful of string operations: the
 * broker's cycle calls it once per computed endpoint. E.g.
 * "p99.9 of 3 420 calls = 4.9 s, +10 % margin = 5.4 s" or
 * "… = 52 s; spike: above 5 × the previous 1.0 s, stored as 2.0 s, +10 % margin = 2.2 s".
 */
export function servingReason(
  c: ServedComputation,
  opts: Pick<
    ServingOptions,
    'spikeFactor' | 'marginThresholdMs' | 'marginFactor' | 'marginAddMs' | 'minMs' | 'maxMs'
  > = DEFAULT_SERVING,
  clamps: ClampOrigin = {},
): string {
  const strategyPart = c.strategyReason?.trim();
  let text = strategyPart ? strategyPart : `the worker computed ${readableMs(c.computedMs)}`;
  if (c.storedMs !== c.computedMs && c.dampedAgainstMs !== undefined) {
    text +=
      `; spike: ${readableMs(c.computedMs)} is above ${readableNumber(opts.spikeFactor)} × ` +
      `the previous ${readableMs(c.dampedAgainstMs)}, stored as ${readableMs(c.storedMs)}`;
  }
  const multiplicative = c.storedMs > opts.marginThresholdMs;
  const withMargin = marginedMs(c.storedMs, opts);
  if (multiplicative && opts.marginFactor !== 1) {
    text += `, +${readablePercent(opts.marginFactor)} margin = ${readableMs(withMargin)}`;
  } else if (!multiplicative && opts.marginAddMs !== 0) {
    text += `, +${readableMs(opts.marginAddMs)} margin = ${readableMs(withMargin)}`;
  } else if (withMargin !== c.storedMs) {
    text += `, rounded up to ${readableMs(withMargin)}`;
  }
  if (c.servedMs < withMargin) {
    const whose = clamps.maxFromEndpoint === true ? "the endpoint's" : "the broker's";
    text += `, clamped to ${whose} max ${readableMs(c.servedMs)}`;
  } else if (c.servedMs > withMargin) {
    const whose = clamps.minFromEndpoint === true ? "the endpoint's" : "the broker's";
    text += `, raised to ${whose} min ${readableMs(c.servedMs)}`;
  }
  return text;
}

/**
 * The reason while an endpoint's last attempt failed: the value in force is the previous one,
 * for the previous reason (undefined when that computation gave none, e.g. stored before reasons).
 */
export function staleReason(previousReason: string | undefined): string {
  return previousReason
    ? `last computation failed; still serving the previous value: ${previousReason}`
    : 'last computation failed; still serving the previous value';
}

/** The reason of an endpoint that has no value yet: the default is served. */
export function defaultReason(defaultTimeoutMs: number): string {
  return `no value computed yet: the default ${readableMs(defaultTimeoutMs)}`;
}
