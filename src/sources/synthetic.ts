// Source `synthetic`: generated spans, a distinct latency shape per endpoint name, moving with time.
import { InvalidConfigError } from '../core/errors.ts';
import type { FetchOptions, LatencySource, LatencyWindow } from './types.ts';

/** The latency shapes the synthetic source draws from. */
export const SYNTHETIC_SHAPES = ['steady', 'heavy-tail', 'bursty', 'bimodal'] as const;
export type SyntheticShape = (typeof SYNTHETIC_SHAPES)[number];

export interface SyntheticSourceOptions {
  /**
   * The clock, in epoch ms. Default `Date.now`. Windows end at `now()`: a fixed clock answers
   * the same window every time (tests), the real one slides the window as time passes.
   */
  now?: () => number;
  /**
   * Shape per endpoint name, for names whose shape should not be left to their hash (the demo
   * shows one of each). Default none: every shape is derived from the name.
   */
  shapes?: Readonly<Record<string, SyntheticShape>>;
}

/** Everything that makes one endpoint's latency, derived from its name. */
export interface SyntheticProfile {
  shape: SyntheticShape;
  /** Median of the log-normal body before drift, in ms. 4–250 ms, log-uniform over names. */
  medianMs: number;
  /** Spread of the body: σ of ln(duration). 0.2–0.6. */
  sigma: number;
  /** Mean spans per second (the gap between spans is 1/rate, jittered). 5–25 /s. */
  ratePerSecond: number;
  /** The median swings by ±driftShare… */
  driftShare: number;
  /** …over this period, in ms (20–60 min), so every cycle's window differs from the last. */
  driftPeriodMs: number;
  /** Fraction of spans in the slow group: heavy-tail 0.5–2 %, bimodal 10–30 %, else 0. */
  slowShare: number;
  /** Slow factor: bimodal's second mode (4–10 ×), bursty's factor during a burst (3–8 ×). */
  slowFactor: number;
  /** bursty: a burst starts every `burstEveryMs` (3–8 min) and lasts `burstMs` (20–60 s). */
  burstEveryMs: number;
  burstMs: number;
}

/** No span is longer than this (ms): the heavy tail is a Pareto tail cut at a minute. */
const MAX_DURATION_MS = 60_000;
const HOUR_MS = 3_600_000;

/** FNV-1a over the UTF-16 code units, then murmur3's finaliser: a 32-bit hash of a name. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h);
}

/** murmur3's 32-bit finaliser: every input bit moves every output bit. */
function fmix(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The i-th uniform on [0, 1) of a hash state (counter mode: no state to carry between draws). */
function uniformAt(seed: number, i: number): number {
  return fmix(seed + Math.imul(i + 1, 0x9e3779b9)) / 4_294_967_296;
}

/** Log-uniform between lo and hi for u in [0, 1). */
const logUniform = (u: number, lo: number, hi: number) => lo * (hi / lo) ** u;
const between = (u: number, lo: number, hi: number) => lo + (hi - lo) * u;

/** The profile of an endpoint: a pure function of its name (and an explicit shape, if given). */
export function syntheticProfile(name: string, shape?: SyntheticShape): SyntheticProfile {
  const seed = hashName(name);
  const u = (i: number) => uniformAt(seed, i);
  const s: SyntheticShape = shape ?? SYNTHETIC_SHAPES[seed % SYNTHETIC_SHAPES.length] ?? 'steady';
  return {
    shape: s,
    medianMs: logUniform(u(0), 4, 250),
    sigma: between(u(1), 0.2, 0.6),
    ratePerSecond: logUniform(u(2), 5, 25),
    driftShare: between(u(3), 0.15, 0.4),
    driftPeriodMs: between(u(4), 20, 60) * 60_000,
    slowShare:
      s === 'heavy-tail'
        ? between(u(5), 0.005, 0.02)
        : s === 'bimodal'
          ? between(u(5), 0.1, 0.3)
          : 0,
    slowFactor: s === 'bimodal' ? between(u(6), 4, 10) : between(u(6), 3, 8),
    burstEveryMs: between(u(7), 3, 8) * 60_000,
    burstMs: between(u(8), 20, 60) * 1000,
  };
}

/** One line for people: what the endpoint's latency looks like. */
export function describeSyntheticProfile(p: SyntheticProfile): string {
  const ms = (x: number) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;
  const pct = (x: number) => `${+(x * 100).toPrecision(2)} %`;
  const body = `median ~${ms(p.medianMs)} (σ ${p.sigma.toFixed(2)}), drifting ±${pct(p.driftShare)} over ${Math.round(p.driftPeriodMs / 60_000)} min, ~${p.ratePerSecond.toFixed(1)} spans/s`;
  switch (p.shape) {
    case 'steady':
      return `steady log-normal, ${body}`;
    case 'heavy-tail':
      return `log-normal with a heavy (Pareto) tail in ${pct(p.slowShare)} of calls, ${body}`;
    case 'bursty':
      return `log-normal with slow bursts (${p.slowFactor.toFixed(1)} × for ${Math.round(p.burstMs / 1000)} s every ${(p.burstEveryMs / 60_000).toFixed(1)} min), ${body}`;
    case 'bimodal':
      return `two modes: ${pct(p.slowShare)} of calls ${p.slowFactor.toFixed(1)} × slower (cache misses), ${body}`;
  }
}

/** State of `nextUniform`, set per span from the slot's seed (module-level: no closure per span). */
let rngState = 0;

/** mulberry32's step: the next uniform on [0, 1) from `rngState`. */
function nextUniform(): number {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = Math.imul(rngState ^ (rngState >>> 15), rngState | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

/**
 * Appends the span in slot `k` (slot k covers [k·gap, (k+1)·gap)) to `out` when it started
 * within [from, end]; answers false once the slot lies before `from`. Each span is a pure
 * function of the profile, the name's seed and k, so every worker and every call agrees on it,
 * and a window that slides keeps the spans it still covers.
 */
function pushSpanAt(
  p: SyntheticProfile,
  seed: number,
  gapMs: number,
  k: number,
  from: number,
  end: number,
  out: { durationsMs: number[]; timestampsMs: number[] },
): boolean {
  // k exceeds 2³² (epoch ms / gap): fold its high part in before hashing.
  rngState = fmix(seed ^ fmix((k >>> 0) ^ fmix(Math.floor(k / 4_294_967_296) + 0x632be5ab)));
  const t = (k + nextUniform()) * gapMs;
  if (t < from) return false;
  if (t > end) return true; // the current slot's span has not started yet
  const drift =
    1 + p.driftShare * Math.sin((2 * Math.PI * t) / p.driftPeriodMs + (seed % 628) / 100);
  // Box–Muller: a standard normal from two uniforms; 1 − u keeps log away from 0.
  const z = Math.sqrt(-2 * Math.log(1 - nextUniform())) * Math.cos(2 * Math.PI * nextUniform());
  let d = p.medianMs * drift * Math.exp(p.sigma * z);
  switch (p.shape) {
    case 'heavy-tail':
      // Pareto with index 1.2 above 3 × the body: a few calls 5–100 × slower, rarely more.
      if (nextUniform() < p.slowShare) d *= (1 - nextUniform()) ** (-1 / 1.2) * 3;
      break;
    case 'bimodal':
      if (nextUniform() < p.slowShare) d *= p.slowFactor;
      break;
    case 'bursty':
      // Each name's bursts have their own phase, so bursty endpoints do not all slow down at once.
      if ((t + (seed % 1000) * (p.burstEveryMs / 1000)) % p.burstEveryMs < p.burstMs) {
        d *= p.slowFactor;
      }
      break;
    case 'steady':
      break;
  }
  out.timestampsMs.push(t);
  out.durationsMs.push(Math.min(d, MAX_DURATION_MS));
  return true;
}

/**
 * A source that needs nothing: spans generated on the fly for any endpoint name, a distinct
 * shape per name, real timestamps (the most recent `limit` spans up to now, within the window).
 * Work per call is proportional to the spans answered (≤ `limit`), never to the window's length,
 * so it serves large synthetic benchmarks too.
 */
export function createSyntheticSource(options: SyntheticSourceOptions = {}): LatencySource {
  const now = options.now ?? Date.now;
  const shapes = options.shapes ?? {};
  const profiles = new Map<string, SyntheticProfile>();
  const profileOf = (endpoint: string) => {
    let p = profiles.get(endpoint);
    if (!p) {
      p = syntheticProfile(
        endpoint,
        Object.hasOwn(shapes, endpoint) ? shapes[endpoint] : undefined,
      );
      // Bounded: a benchmark with many names must not grow the cache without end.
      if (profiles.size >= 100_000) profiles.clear();
      profiles.set(endpoint, p);
    }
    return p;
  };
  return {
    name: 'synthetic',
    fetchWindow(endpoint: string, fetch: FetchOptions): Promise<LatencyWindow> {
      const p = profileOf(endpoint);
      const seed = hashName(endpoint);
      const gapMs = 1000 / p.ratePerSecond;
      const end = now();
      const from = end - fetch.windowHours * HOUR_MS;
      const limit = Math.max(0, Math.floor(fetch.limit));
      const out = { durationsMs: [] as number[], timestampsMs: [] as number[] };
      // Newest first, then reversed: stop at the limit or the window's start, whichever first.
      for (let k = Math.floor(end / gapMs); out.durationsMs.length < limit; k--) {
        if (!pushSpanAt(p, seed, gapMs, k, from, end, out)) break;
      }
      const { durationsMs, timestampsMs } = out;
      durationsMs.reverse();
      timestampsMs.reverse();
      return Promise.resolve({ durationsMs, timestampsMs });
    },
    check: () => Promise.resolve(),
  };
}

/** Reads the registry's untyped options: `now` (a function) and `shapes` (name → shape). */
export function syntheticOptionsFrom(o: Record<string, unknown>): SyntheticSourceOptions {
  const out: SyntheticSourceOptions = {};
  if (typeof o.now === 'function') out.now = o.now as () => number;
  if (o.shapes !== undefined) {
    if (!o.shapes || typeof o.shapes !== 'object') {
      throw new InvalidConfigError(['synthetic source: shapes must map endpoint names to shapes']);
    }
    const shapes: Record<string, SyntheticShape> = {};
    const problems: string[] = [];
    for (const [name, shape] of Object.entries(o.shapes)) {
      if ((SYNTHETIC_SHAPES as readonly unknown[]).includes(shape)) {
        shapes[name] = shape as SyntheticShape;
      } else {
        problems.push(
          `synthetic source: shape ${JSON.stringify(shape)} of "${name}" is not one of ${SYNTHETIC_SHAPES.join(', ')}`,
        );
      }
    }
    if (problems.length > 0) throw new InvalidConfigError(problems);
    out.shapes = shapes;
  }
  return out;
}
