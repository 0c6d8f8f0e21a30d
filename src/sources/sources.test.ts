// Runs the LatencySource conformance suite for every built-in source, plus source-specific checks.
// The influxdb source runs against a real influxd (test/helpers/influxd.ts); no mocks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { JitError } from '../core/errors.ts';
import {
  influxdSkip,
  nowNs,
  spanLine,
  startInfluxd,
  freePort,
  type Influxd,
} from '../../test/helpers/influxd.ts';
import { createInfluxSource } from './influxdb.ts';
import { durationsOf, latencySourceConformance } from './latency-source.conformance.ts';
import { createSource } from './registry.ts';
import { createSeedSampleSource } from './seed-sample.ts';
import {
  createSyntheticSource,
  describeSyntheticProfile,
  SYNTHETIC_SHAPES,
  syntheticProfile,
  type SyntheticShape,
} from './synthetic.ts';

const DB = 'tracing';
const HOUR_NS = 3_600_000_000_000n;

/** The 522 sample durations in ms, read straight from the data file (ns / 1e6). */
function sampleMs(): number[] {
  const raw = JSON.parse(
    readFileSync(new URL('../../data/seed-sample-durations.json', import.meta.url), 'utf8'),
  ) as { durations_ns: number[] };
  return raw.durations_ns.map((ns) => ns / 1e6);
}

/** Writes spans with strictly increasing timestamps inside the last hour, across calls. */
function spanWriter(influx: Influxd, db = DB) {
  let ts = nowNs() - HOUR_NS;
  return async (endpoint: string, durationsMs: number[]): Promise<void> => {
    const lines = durationsMs.map((ms) =>
      spanLine(endpoint, BigInt(Math.round(ms * 1e6)), (ts += 1000n)),
    );
    await influx.writeLines(db, lines);
  };
}

describe('seed-sample', () => {
  latencySourceConformance('seed-sample', () =>
    Promise.resolve({
      source: createSeedSampleSource(),
      seed: () => Promise.resolve(false),
      teardown: () => Promise.resolve(),
    }),
  );

  it('answers the 522 sample durations (ms = ns / 1e6) for any endpoint', async () => {
    const expected = sampleMs();
    assert.equal(expected.length, 522);
    const source = createSource('seed-sample');
    assert.equal(source.name, 'seed-sample');
    assert.deepEqual(
      await durationsOf(source, 'customer', { windowHours: 48, limit: 5000 }),
      expected,
    );
    assert.deepEqual(
      await durationsOf(source, 'anything else', { windowHours: 48, limit: 5000 }),
      expected,
    );
  });

  it('applies limit to the end of the sample (its most recent values)', async () => {
    const expected = sampleMs();
    const got = await durationsOf(createSeedSampleSource(), 'x', { windowHours: 48, limit: 100 });
    assert.deepEqual(got, expected.slice(-100));
  });
});

/** A fixed instant (2026-01-01T00:00:00Z): synthetic windows depend on the clock. */
const T0 = Date.UTC(2026, 0, 1);
const MIN_MS = 60_000;
const WIDE = { windowHours: 48, limit: 5000 };

/** The q-quantile of a window (nearest rank). */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

describe('synthetic', () => {
  latencySourceConformance('synthetic', () =>
    Promise.resolve({
      source: createSyntheticSource({ now: () => T0 }),
      seed: () => Promise.resolve(false),
      fixedData: 'per-endpoint' as const,
      teardown: () => Promise.resolve(),
    }),
  );

  const at = (t: number, shapes: Record<string, SyntheticShape> = {}) =>
    createSyntheticSource({ now: () => t, shapes });

  it('is registered as "synthetic" and answers real, recent timestamps', async () => {
    const source = createSource('synthetic');
    assert.equal(source.name, 'synthetic');
    const before = Date.now();
    const w = await source.fetchWindow('customer', WIDE);
    assert.equal(w.durationsMs.length, 5000);
    const ts = w.timestampsMs ?? [];
    assert.equal(ts.length, 5000);
    assert.ok((ts.at(-1) as number) <= Date.now(), 'no span starts in the future');
    assert.ok((ts.at(-1) as number) > before - 10_000, 'the newest span is a few seconds old');
  });

  it('two instances (two workers) answer the same window for the same name and time', async () => {
    const a = await at(T0).fetchWindow('order', WIDE);
    const b = await at(T0).fetchWindow('order', WIDE);
    assert.deepEqual(b, a);
  });

  it('moves with time: a later window keeps the spans it still covers and adds new ones', async () => {
    const a = await at(T0).fetchWindow('route', WIDE);
    const b = await at(T0 + 5000).fetchWindow('route', WIDE);
    const tsA = a.timestampsMs ?? [];
    const tsB = b.timestampsMs ?? [];
    const firstB = tsB[0] as number;
    // The spans of A still inside B's window are B's oldest spans, unchanged.
    const kept = tsA.findIndex((t) => t >= firstB);
    assert.ok(kept > 0, 'the window slid');
    const overlap = tsA.length - kept;
    assert.deepEqual(tsB.slice(0, overlap), tsA.slice(kept));
    assert.deepEqual(b.durationsMs.slice(0, overlap), a.durationsMs.slice(kept));
    assert.ok((tsB.at(-1) as number) > (tsA.at(-1) as number), 'new spans arrived');
    // Over half an hour the level itself changes (drift), not just a few spans.
    const later = await at(T0 + 30 * MIN_MS).fetchWindow('route', WIDE);
    assert.notEqual(quantile(later.durationsMs, 0.5), quantile(a.durationsMs, 0.5));
  });

  it('respects the window as well as the limit', async () => {
    const w = await at(T0).fetchWindow('customer', { windowHours: 1 / 60, limit: 5000 });
    const ts = w.timestampsMs ?? [];
    const p = syntheticProfile('customer');
    // About rate × 60 s spans, all inside the last minute.
    assert.ok(ts.every((t) => t >= T0 - MIN_MS && t <= T0));
    assert.ok(Math.abs(ts.length - p.ratePerSecond * 60) <= 2, `${ts.length} spans in a minute`);
    assert.deepEqual(
      (await at(T0).fetchWindow('customer', { windowHours: 48, limit: 0 })).durationsMs,
      [],
    );
  });

  it('gives each shape its character', async () => {
    const names = ['shape-a', 'shape-b', 'shape-c', 'shape-d'];
    const shapes = Object.fromEntries(names.map((n, i) => [n, SYNTHETIC_SHAPES[i]])) as Record<
      string,
      SyntheticShape
    >;
    const source = at(T0, shapes);
    const tailRatio = async (name: string) => {
      const d = (await source.fetchWindow(name, WIDE)).durationsMs;
      return quantile(d, 0.999) / quantile(d, 0.5);
    };
    const [steady, heavy] = [await tailRatio('shape-a'), await tailRatio('shape-b')];
    // A log-normal body with σ ≤ 0.6 has p99.9 ≤ e^(0.6·3.1) ≈ 6.4 × its median (+ drift).
    assert.ok(steady < 9, `steady p99.9/p50 = ${steady}`);
    assert.ok(heavy > 3 * steady, `heavy-tail p99.9/p50 = ${heavy} vs steady ${steady}`);
    // Bursty: the slow spans come in runs (a burst), not scattered.
    const p = syntheticProfile('shape-c', 'bursty');
    const w = await source.fetchWindow('shape-c', WIDE);
    const threshold = quantile(w.durationsMs, 0.5) * Math.sqrt(p.slowFactor) * 1.5;
    const slowTimes = (w.timestampsMs ?? []).filter(
      (_, i) => (w.durationsMs[i] as number) > threshold,
    );
    assert.ok(slowTimes.length > 20, `${slowTimes.length} slow spans in the window`);
    const gaps = slowTimes.slice(1).map((t, i) => t - (slowTimes[i] as number));
    assert.ok(
      gaps.filter((g) => g > p.burstMs).length < slowTimes.length / 10,
      'slow spans cluster in bursts',
    );
    // Bimodal: about slowShare of the spans in the slow mode.
    const q = syntheticProfile('shape-d', 'bimodal');
    const d = (await source.fetchWindow('shape-d', WIDE)).durationsMs;
    const median = quantile(d, 0.5);
    const slow = d.filter((x) => x > median * Math.sqrt(q.slowFactor) * 1.2).length / d.length;
    assert.ok(Math.abs(slow - q.slowShare) < 0.05, `slow share ${slow} vs ${q.slowShare}`);
  });

  it('derives a profile from the name alone, and describes it', () => {
    assert.deepEqual(syntheticProfile('payment'), syntheticProfile('payment'));
    const medians = new Set(['a', 'b', 'c', 'd', 'e'].map((n) => syntheticProfile(n).medianMs));
    assert.equal(medians.size, 5);
    assert.match(describeSyntheticProfile(syntheticProfile('x', 'heavy-tail')), /heavy/);
    assert.match(describeSyntheticProfile(syntheticProfile('x', 'bursty')), /bursts/);
  });

  it('refuses an unknown shape when created by name', () => {
    assert.throws(
      () => createSource('synthetic', { shapes: { customer: 'wobbly' } }),
      (err) =>
        err instanceof JitError && err.code === 'INVALID_CONFIG' && /wobbly/.test(err.message),
    );
  });
});

describe('influxdb', { skip: influxdSkip() }, () => {
  latencySourceConformance('influxdb', async () => {
    const influx = await startInfluxd();
    await influx.createDatabase(DB);
    const write = spanWriter(influx);
    return {
      source: createInfluxSource({ url: influx.url, database: DB }),
      async seed(endpoint, durationsMs) {
        await write(endpoint, durationsMs);
        return true;
      },
      teardown: () => influx.stop(),
    };
  });

  describe('adapter specifics', () => {
    let influx: Influxd;
    let write: (endpoint: string, durationsMs: number[]) => Promise<void>;

    before(async () => {
      influx = await startInfluxd();
      await influx.createDatabase(DB);
      write = spanWriter(influx);
    });

    after(async () => {
      await influx?.stop();
    });

    it('leaves out spans older than the window', async () => {
      const old = nowNs() - 50n * HOUR_NS;
      await influx.writeLines(DB, [
        spanLine('window-test', 7_000_000, old),
        spanLine('window-test', 8_000_000, old + 1000n),
      ]);
      await write('window-test', [1, 2]);
      const source = createInfluxSource({ url: influx.url, database: DB });
      assert.deepEqual(
        await durationsOf(source, 'window-test', { windowHours: 48, limit: 100 }),
        [1, 2],
      );
      assert.deepEqual(
        await durationsOf(source, 'window-test', { windowHours: 72, limit: 100 }),
        [7, 8, 1, 2],
      );
    });

    it('matchMode contains matches tags containing the name; exact only the equal tag', async () => {
      await write('/svc/exact', [3]);
      await write('/svc/exact/more', [4]);
      await write('GET /svc/exact', [5]);
      const contains = createInfluxSource({ url: influx.url, database: DB });
      const exact = createInfluxSource({ url: influx.url, database: DB, matchMode: 'exact' });
      const opts = { windowHours: 48, limit: 100 };
      assert.deepEqual(await durationsOf(contains, '/svc/exact', opts), [3, 4, 5]);
      assert.deepEqual(await durationsOf(exact, '/svc/exact', opts), [3]);
      assert.deepEqual(await durationsOf(exact, '/svc/exac', opts), []);
    });

    it('reads a window answered in several chunks whole and in order', async () => {
      // 2500 points: three of the adapter's 1000-point chunks (a 5000-point window is five).
      const durations = Array.from({ length: 2500 }, (_, i) => 1 + i / 1000);
      await write('chunk-test', durations);
      const source = createInfluxSource({ url: influx.url, database: DB });
      const all = await source.fetchWindow('chunk-test', { windowHours: 48, limit: 5000 });
      const asStored = durations.map((ms) => Math.round(ms * 1e6) * 1e-6); // ns in the store
      assert.deepEqual(all.durationsMs, asStored);
      const ts = all.timestampsMs ?? [];
      assert.equal(ts.length, 2500);
      assert.ok(
        ts.every((t, i) => i === 0 || t > (ts[i - 1] as number)),
        'oldest first',
      );
      // LIMIT across chunks keeps the most recent ones.
      assert.deepEqual(
        await durationsOf(source, 'chunk-test', { windowHours: 48, limit: 1500 }),
        asStored.slice(1000),
      );
    });

    it('converts durations with durationUnit', async () => {
      // Stored as microseconds this time: 1500 µs = 1.5 ms.
      await influx.writeLines(DB, [spanLine('unit-test', 1500, nowNs() - 1000n)]);
      const us = createInfluxSource({ url: influx.url, database: DB, durationUnit: 'us' });
      assert.deepEqual(await durationsOf(us, 'unit-test', { windowHours: 1, limit: 10 }), [1.5]);
    });

    it('a database that does not exist is a SOURCE_QUERY_FAILED error', async () => {
      const source = createInfluxSource({ url: influx.url, database: 'no_such_db' });
      await assert.rejects(durationsOf(source, 'x', { windowHours: 48, limit: 10 }), (err) => {
        assert.ok(err instanceof JitError);
        assert.equal(err.code, 'SOURCE_QUERY_FAILED');
        assert.match(err.message, /database not found/);
        return true;
      });
    });

    it('check() and fetchWindow reject with SOURCE_UNAVAILABLE when nothing listens', async () => {
      const port = await freePort();
      const source = createInfluxSource({ url: `http://127.0.0.1:${port}`, database: DB });
      for (const attempt of [
        () => source.check(),
        () => durationsOf(source, 'x', { windowHours: 48, limit: 10 }),
      ]) {
        await assert.rejects(attempt(), (err) => {
          assert.ok(err instanceof JitError);
          assert.equal(err.code, 'SOURCE_UNAVAILABLE');
          assert.equal(err.statusCode, 503);
          return true;
        });
      }
    });

    it('names ending in a backslash match as literals (no unterminated regex)', async () => {
      // Line protocol cannot store a tag value ending in a backslash, but one can contain it.
      await write('pre\\post', [42]);
      const source = createInfluxSource({ url: influx.url, database: DB });
      const opts = { windowHours: 48, limit: 10 };
      assert.deepEqual(await durationsOf(source, 'pre\\', opts), [42]);
      assert.deepEqual(await durationsOf(source, '\\', opts), [42]);
      assert.deepEqual(await durationsOf(source, '\\post', opts), [42]);
      assert.deepEqual(await durationsOf(source, 'abc\\', opts), []);
      const exact = createInfluxSource({ url: influx.url, database: DB, matchMode: 'exact' });
      assert.deepEqual(await durationsOf(exact, 'pre\\post', opts), [42]);
      assert.deepEqual(await durationsOf(exact, 'pre\\', opts), []);
    });
  });
});
