// Conformance suite every LatencySource must pass (as hono's common.case.test.ts): a test file
// calls `latencySourceConformance(name, setup)` once per adapter and node:test runs the checks.
//
// `seed(endpoint, durationsMs)` stores spans for `endpoint`, in the order given and newer than
// everything seeded before, and answers true; a source with fixed data answers false, and the
// data-dependent checks then assert the fixed-data properties instead: the same data for every
// endpoint (seed-sample), or with `fixedData: 'per-endpoint'` each endpoint its own data
// (synthetic, whose harness freezes its clock so that the data stays put during the suite).
// A source that keeps bucket counts instead of durations (prometheus) gives `histogramOf`: the
// checks then compare the window's histogram with the seeded durations' buckets.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FetchOptions, LatencyHistogram, LatencySource } from './types.ts';

export interface ConformanceHarness {
  source: LatencySource;
  /** Stores the durations (ms) as the endpoint's most recent spans; false when the data is fixed. */
  seed(endpoint: string, durationsMs: number[]): Promise<boolean>;
  /**
   * What a source that cannot be seeded answers. Default 'same-for-every-endpoint'; with
   * 'per-endpoint', each endpoint answers its own data, the same on every call, and two
   * endpoints answer different data.
   */
  fixedData?: 'same-for-every-endpoint' | 'per-endpoint';
  /**
   * For sources answering histograms (durationsMs empty): the histogram the source answers for
   * an endpoint seeded with these durations. `limit` does not apply to bucket counts.
   */
  histogramOf?: (durationsMs: number[]) => LatencyHistogram;
  teardown(): Promise<void>;
}

/**
 * Checks a histogram window's shape (finite ascending bounds, one count per bucket plus +Inf,
 * counts finite and ≥ 0, no durations) and compares it with `expected` (counts within 1e-6 of
 * the total: Prometheus's counts are floats).
 */
export async function assertHistogramWindow(
  source: LatencySource,
  endpoint: string,
  options: FetchOptions,
  expected: LatencyHistogram | undefined,
): Promise<void> {
  const w = await source.fetchWindow(endpoint, options);
  assert.deepEqual(w.durationsMs, [], `${endpoint}: a histogram window has no durations`);
  if (expected === undefined || expected.counts.every((c) => c === 0)) {
    assert.equal(w.histogram, undefined, `${endpoint}: no observations, no histogram`);
    return;
  }
  const h = w.histogram;
  assert.ok(h, `${endpoint}: expected a histogram`);
  h.boundsMs.forEach((b, i) => {
    assert.ok(Number.isFinite(b), `${endpoint}: bound [${i}] is not finite: ${b}`);
    if (i > 0) assert.ok(b > (h.boundsMs[i - 1] as number), `${endpoint}: bounds not ascending`);
  });
  assert.equal(h.counts.length, h.boundsMs.length + 1, `${endpoint}: one count per bucket + Inf`);
  h.counts.forEach((c, i) =>
    assert.ok(Number.isFinite(c) && c >= 0, `${endpoint}: count [${i}] is ${c}`),
  );
  assertCloseArrays(h.boundsMs, expected.boundsMs, `${endpoint}: bounds`);
  const total = expected.counts.reduce((a, b) => a + b, 0);
  h.counts.forEach((c, i) => {
    const e = expected.counts[i] as number;
    assert.ok(
      Math.abs(c - e) <= 1e-6 * Math.max(1, total),
      `${endpoint}: bucket [${i}] counts ${c}, expected ${e}\n  actual:   ${JSON.stringify(h.counts)}\n  expected: ${JSON.stringify(expected.counts)}`,
    );
  });
}

const WIDE: FetchOptions = { windowHours: 48, limit: 5000 };

/** Relative tolerance for unit conversions (ns → ms is a float multiplication). */
function assertCloseArrays(actual: readonly number[], expected: readonly number[], what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    assert.ok(
      Math.abs(a - e) <= 1e-9 * Math.max(1, Math.abs(e)),
      `${what}: [${i}] is ${a}, expected ${e}\n  actual:   ${JSON.stringify(actual)}\n  expected: ${JSON.stringify(expected)}`,
    );
  }
}

/**
 * The durations of `source.fetchWindow(…)`, after checking the window's shape: timestamps, when
 * present, are one finite epoch-ms value per duration, oldest first.
 */
export async function durationsOf(
  source: LatencySource,
  endpoint: string,
  options: FetchOptions,
): Promise<number[]> {
  const w = await source.fetchWindow(endpoint, options);
  assertDurations(w.durationsMs, endpoint);
  if (w.timestampsMs !== undefined) {
    assert.equal(
      w.timestampsMs.length,
      w.durationsMs.length,
      `${endpoint}: one timestamp per duration`,
    );
    w.timestampsMs.forEach((t, i) => {
      assert.ok(
        Number.isFinite(t) && t > 1e12,
        `${endpoint}: timestamp [${i}] is not epoch ms: ${t}`,
      );
      if (i > 0)
        assert.ok(
          t >= (w.timestampsMs?.[i - 1] as number),
          `${endpoint}: timestamps not oldest first`,
        );
    });
  }
  return w.durationsMs;
}

function assertDurations(values: unknown, what: string): asserts values is number[] {
  assert.ok(Array.isArray(values), `${what}: fetchWindow must answer an array of durations`);
  values.forEach((v, i) => {
    assert.equal(typeof v, 'number', `${what}: [${i}] is not a number: ${String(v)}`);
    assert.ok(Number.isFinite(v), `${what}: [${i}] is not finite: ${String(v)}`);
    assert.ok((v as number) >= 0, `${what}: [${i}] is negative: ${String(v)}`);
  });
}

export function latencySourceConformance(
  name: string,
  setup: () => Promise<ConformanceHarness>,
): void {
  void describe(`LatencySource conformance: ${name}`, () => {
    let h: ConformanceHarness | undefined;
    /** Whether the source takes seeded data (false: fixed data such as seed-sample). */
    let seedable = true;
    /** What the source answers for any endpoint when its data is fixed (wide window). */
    let fixed: number[] = [];
    /** Whether fixed data differs per endpoint (then `fixedFor` asks the source once per name). */
    let perEndpoint = false;
    const fixedByEndpoint = new Map<string, number[]>();
    /** The fixed data the source answers for `endpoint` (wide window). */
    const fixedFor = async (endpoint: string): Promise<number[]> => {
      if (!perEndpoint) return fixed;
      let got = fixedByEndpoint.get(endpoint);
      if (!got) {
        got = await durationsOf(harness().source, endpoint, WIDE);
        fixedByEndpoint.set(endpoint, got);
      }
      return got;
    };
    const run = randomUUID().slice(0, 8);
    let counter = 0;
    /** A fresh endpoint name no other name contains (fixed width), so `contains` cannot mix them. */
    const fresh = (label: string) =>
      `conformance-${run}-${String(++counter).padStart(4, '0')}-${label}`;

    const harness = (): ConformanceHarness => {
      assert.ok(h, 'setup() did not complete');
      return h;
    };

    before(async () => {
      h = await setup();
      seedable = await h.seed(fresh('probe'), [1, 2, 3]);
      perEndpoint = !seedable && h.fixedData === 'per-endpoint';
      if (!seedable) fixed = await durationsOf(h.source, fresh('fixed'), WIDE);
    });

    after(async () => {
      await h?.teardown();
    });

    it('has a name', () => {
      assert.equal(typeof harness().source.name, 'string');
      assert.ok(harness().source.name.length > 0);
    });

    it('check() resolves when the source is healthy', async () => {
      await harness().source.check();
    });

    /** For a histogram source: the seeded window, checked against `histogramOf` (else false). */
    const histogramCase = async (
      endpoint: string,
      seeded: number[],
      options: FetchOptions = WIDE,
    ): Promise<boolean> => {
      const of = harness().histogramOf;
      if (!of) return false;
      await assertHistogramWindow(harness().source, endpoint, options, of(seeded));
      return true;
    };

    it('answers an array of finite, non-negative numbers (ms)', async () => {
      const endpoint = fresh('shape');
      await harness().seed(endpoint, [0, 0.5, 12, 250.25, 1800]);
      if (await histogramCase(endpoint, [0, 0.5, 12, 250.25, 1800])) return;
      const got = await durationsOf(harness().source, endpoint, WIDE);
      assertDurations(got, endpoint);
      assert.ok(got.length > 0, 'a seeded (or fixed-data) endpoint has durations');
    });

    it('answers the seeded durations in ms, oldest first', async () => {
      const endpoint = fresh('order');
      const seeded = [5, 1, 4, 1.5, 9, 2.25, 6, 0.125];
      const didSeed = await harness().seed(endpoint, seeded);
      if (await histogramCase(endpoint, seeded)) return;
      const expected = didSeed ? seeded : await fixedFor(endpoint);
      const got = await durationsOf(harness().source, endpoint, WIDE);
      assertDurations(got, endpoint);
      assertCloseArrays(got, expected, didSeed ? endpoint : `${endpoint} (fixed data)`);
    });

    it('respects limit: at most `limit`, the most recent ones, oldest first', async () => {
      const endpoint = fresh('limit');
      const seeded = Array.from({ length: 30 }, (_, i) => 10 + i * 3);
      const didSeed = await harness().seed(endpoint, seeded);
      if (harness().histogramOf) {
        // Bucket counts hold no individual spans to keep "the most recent" of: limit is moot.
        for (const limit of [1, 7, 5000]) {
          assert.ok(await histogramCase(endpoint, seeded, { windowHours: 48, limit }));
        }
        return;
      }
      const all = didSeed ? seeded : await fixedFor(endpoint);
      for (const limit of [1, 7, 29, 30, 31, 5000]) {
        const got = await durationsOf(harness().source, endpoint, { windowHours: 48, limit });
        assertDurations(got, `${endpoint} limit ${limit}`);
        assert.ok(got.length <= limit, `limit ${limit}: got ${got.length} values`);
        assertCloseArrays(got, all.slice(Math.max(0, all.length - limit)), `limit ${limit}`);
      }
    });

    it('answers the same window for repeated calls', async () => {
      const endpoint = fresh('repeat');
      await harness().seed(endpoint, [3, 1, 2]);
      if (harness().histogramOf) {
        const [x, y] = [
          await harness().source.fetchWindow(endpoint, WIDE),
          await harness().source.fetchWindow(endpoint, WIDE),
        ];
        assert.ok(x.histogram, 'a seeded endpoint has a histogram');
        assert.deepEqual(y, x);
        return;
      }
      const a = await durationsOf(harness().source, endpoint, WIDE);
      const b = await durationsOf(harness().source, endpoint, WIDE);
      assert.deepEqual(b, a);
    });

    it('keeps endpoints apart (or, with fixed data, answers the same data for every endpoint)', async () => {
      const a = fresh('apart-a');
      const b = fresh('apart-b');
      const didSeedA = await harness().seed(a, [11, 12, 13]);
      const didSeedB = await harness().seed(b, [21, 22]);
      if ((await histogramCase(a, [11, 12, 13])) && (await histogramCase(b, [21, 22]))) return;
      const gotA = await durationsOf(harness().source, a, WIDE);
      const gotB = await durationsOf(harness().source, b, WIDE);
      if (didSeedA && didSeedB) {
        assertCloseArrays(gotA, [11, 12, 13], a);
        assertCloseArrays(gotB, [21, 22], b);
      } else if (perEndpoint) {
        assertCloseArrays(gotA, await fixedFor(a), a);
        assertCloseArrays(gotB, await fixedFor(b), b);
        assert.notDeepEqual(gotA, gotB, 'two endpoints answer the same per-endpoint data');
      } else {
        assertCloseArrays(gotA, fixed, a);
        assertCloseArrays(gotB, fixed, b);
      }
    });

    it('answers an empty window for an endpoint without spans (or the fixed data)', async () => {
      const endpoint = fresh('unknown');
      if (await histogramCase(endpoint, [])) return;
      const got = await durationsOf(harness().source, endpoint, WIDE);
      assertDurations(got, endpoint);
      assertCloseArrays(got, seedable ? [] : await fixedFor(endpoint), endpoint);
    });

    it('answers endpoint names with regex and query metacharacters literally', async () => {
      const prefix = fresh('meta');
      const names = [`${prefix}/a.b*c`, `${prefix} it's "quoted"`, `${prefix}|x(y)[z]{1}^$+?`];
      for (const [i, endpoint] of names.entries()) {
        const didSeed = await harness().seed(endpoint, [100 + i, 200 + i]);
        if (await histogramCase(endpoint, [100 + i, 200 + i])) continue;
        const expected = didSeed ? [100 + i, 200 + i] : await fixedFor(endpoint);
        const got = await durationsOf(harness().source, endpoint, WIDE);
        assertDurations(got, endpoint);
        assertCloseArrays(got, expected, endpoint);
      }
    });

    it('with fixed data, answers a non-empty window of valid durations', () => {
      if (seedable) return;
      assert.ok(fixed.length > 0, 'fixed-data sources must answer some durations');
      assertDurations(fixed, 'fixed data');
    });
  });
}
