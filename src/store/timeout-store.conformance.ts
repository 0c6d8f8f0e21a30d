// Shared conformance suite every TimeoutStore must pass (run for the memory, SQLite and PostgreSQL stores).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staleReason } from '../core/serving.ts';
import type { ComputationInfo, HistoryPoint, HistoryQuery, TimeoutStore } from './types.ts';

export function info(computedMs: number, extra: Partial<ComputationInfo> = {}): ComputationInfo {
  return {
    computedMs,
    strategy: 'adaptive',
    method: 'aci-quantile',
    samples: 100,
    meanMs: 10,
    sdMs: 2,
    percentilesMs: { p50: 9, p99: 20 },
    computeMs: 1.5,
    workerId: 'w1',
    censored: 0,
    state: { level: 0.001 },
    servedMs: Math.ceil(computedMs * 1.1),
    ...extra,
  };
}

/**
 * `make` answers a new, empty store (a promise for stores that open asynchronously).
 * `reopen`, for stores that persist, answers a second store on the same data once the first
 * one's writes are durable: the suite checks it holds exactly what the first one serves.
 */
/**
 * The history a store answers through the API: `readHistory` where the store has it (its
 * `history` may answer only the points kept in memory), else `history`.
 */
export function historyOf(
  s: TimeoutStore,
  name: string,
  query?: HistoryQuery,
): HistoryPoint[] | Promise<HistoryPoint[]> {
  return s.readHistory ? s.readHistory(name, query) : s.history(name, query);
}

export function timeoutStoreConformance(
  name: string,
  make: (now: () => number) => TimeoutStore | Promise<TimeoutStore>,
  reopen?: (s: TimeoutStore, now: () => number) => Promise<TimeoutStore>,
): void {
  const sameData = async (s: TimeoutStore, now: () => number) => {
    if (!reopen) return;
    const r = await reopen(s, now);
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
    assert.deepEqual(r.list().sort(byName), s.list().sort(byName));
    for (const rec of s.list()) {
      assert.deepEqual(await historyOf(r, rec.name), await historyOf(s, rec.name));
    }
    // "Ever computed" is kept as the stored values show it (a dropped endpoint's is forgotten).
    if (s.list().some((rec) => rec.storedMs !== undefined)) assert.equal(r.hasAnyValue(), true);
    r.close();
  };
  describe(`TimeoutStore conformance: ${name}`, () => {
    const at = (ms: number) => new Date(1_800_000_000_000 + ms);
    const clock = () => 1_800_000_000_000 + 10_000;

    it('never changes a record it handed out: every change makes a new one', async () => {
      const s = await make(clock);
      s.syncEndpoints([{ name: 'a', options: {} }]);
      const first = s.get('a');
      const firstCopy = structuredClone(first);
      s.recordSuccess('a', 100, info(100), at(1));
      const second = s.get('a');
      assert.notEqual(second, first);
      assert.deepEqual(first, firstCopy);
      const secondCopy = structuredClone(second);
      s.recordFailure('a', 'worker answered HTTP 503', at(2));
      s.upsertEndpoint({ name: 'a', options: { alpha: 0.01 } });
      s.syncEndpoints([{ name: 'a', options: { alpha: 0.05 } }]);
      assert.deepEqual(second, secondCopy);
      assert.deepEqual(first, firstCopy);
      assert.equal(s.get('a')?.options.alpha, 0.01);
      // Reading twice without a change answers the same object (what a cache keys on).
      assert.equal(s.get('a'), s.get('a'));
      assert.equal(s.list()[0], s.get('a'));
    });

    it('starts endpoints from the list as never, with their options', async () => {
      const s = await make(clock);
      s.syncEndpoints([
        { name: 'a', options: {} },
        { name: 'b', options: { alpha: 0.01, maxMs: 500 } },
      ]);
      assert.equal(s.size, 2);
      assert.equal(s.hasAnyValue(), false);
      assert.deepEqual(
        s.list().map((r) => [r.name, r.status, r.origin, r.options]),
        [
          ['a', 'never', 'file', {}],
          ['b', 'never', 'file', { alpha: 0.01, maxMs: 500 }],
        ],
      );
      s.close();
    });

    it('records successes and failures: value kept, status fresh → stale, history in order', async () => {
      const s = await make(clock);
      s.syncEndpoints([{ name: 'a', options: {} }]);
      s.recordSuccess('a', 40, info(40), at(1));
      s.recordFailure('a', 'worker answered HTTP 500', at(2));
      const rec = s.get('a');
      assert.equal(rec?.storedMs, 40);
      assert.equal(rec?.status, 'stale');
      assert.equal(rec?.lastError, 'worker answered HTTP 500');
      assert.deepEqual(rec?.last?.state, { level: 0.001 });
      assert.equal(s.hasAnyValue(), true);
      s.recordSuccess('a', 50, info(50), at(3));
      assert.deepEqual(
        (await historyOf(s, 'a')).map((p) => [p.ok, p.computedMs, p.storedMs, p.error]),
        [
          [true, 40, 40, null],
          [false, null, 40, 'worker answered HTTP 500'],
          [true, 50, 50, null],
        ],
      );
      assert.deepEqual(
        (await historyOf(s, 'a', { limit: 1 })).map((p) => p.computedMs),
        [50],
      );
      assert.deepEqual((await historyOf(s, 'a', { sinceMs: at(2).getTime() })).length, 2);
      assert.equal(s.get('a')?.status, 'fresh');
      await sameData(s, clock);
      s.close();
    });

    it('keeps the reason with the value and in every history point; a failure keeps the previous one, marked stale', async () => {
      const s = await make(clock);
      s.syncEndpoints([{ name: 'a', options: {} }]);
      s.recordFailure('a', 'no worker', at(1));
      const first = 'p99.9 of 3 420 calls = 4.9 s, +10 % margin = 5.4 s';
      s.recordSuccess('a', 4900, info(4900, { reason: first }), at(2));
      assert.equal(s.get('a')?.last?.reason, first);
      s.recordFailure('a', 'worker answered HTTP 503', at(3));
      const second = 'p99.9 of 3 500 calls = 5.0 s, +10 % margin = 5.5 s';
      s.recordSuccess('a', 5000, info(5000, { reason: second }), at(4));
      s.recordSuccess('a', 5000, info(5000), at(5)); // an older worker: no reason
      assert.deepEqual(
        (await historyOf(s, 'a')).map((p) => p.reason),
        [null, first, staleReason(first), second, null],
      );
      assert.equal(s.get('a')?.last?.reason, undefined);
      await sameData(s, clock);
      s.close();
    });

    it('a failure before any success leaves the endpoint never computed', async () => {
      const s = await make(clock);
      s.syncEndpoints([{ name: 'a', options: {} }]);
      s.recordFailure('a', 'boom', at(1));
      assert.equal(s.get('a')?.status, 'never');
      assert.equal(s.get('a')?.storedMs, undefined);
      assert.equal(s.hasAnyValue(), false);
      s.close();
    });

    it('drops file endpoints no longer listed, keeps API ones, ignores unknown names', async () => {
      const s = await make(clock);
      s.syncEndpoints([
        { name: 'a', options: {} },
        { name: 'b', options: {} },
      ]);
      s.upsertEndpoint({ name: 'api', options: { strategy: 'quantile' } });
      s.recordSuccess('b', 10, info(10), at(1));
      s.syncEndpoints([{ name: 'a', options: { alpha: 0.05 } }]);
      assert.deepEqual(
        s
          .list()
          .map((r) => r.name)
          .sort(),
        ['a', 'api'],
      );
      assert.deepEqual(s.get('a')?.options, { alpha: 0.05 });
      assert.deepEqual(await historyOf(s, 'b'), []);
      s.recordSuccess('gone', 1, info(1), at(2));
      assert.equal(s.get('gone'), undefined);
      assert.equal(s.removeEndpoint('api'), true);
      assert.equal(s.removeEndpoint('api'), false);
      assert.equal(s.size, 1);
      await sameData(s, clock);
      s.close();
    });

    it('an API endpoint keeps its settings when the file lists the same name', async () => {
      const s = await make(clock);
      s.upsertEndpoint({ name: 'x', options: { maxMs: 100 } });
      s.syncEndpoints([{ name: 'x', options: { maxMs: 999 } }]);
      assert.deepEqual(s.get('x')?.options, { maxMs: 100 });
      assert.equal(s.get('x')?.origin, 'api');
      s.close();
    });

    it('keeps discovered (otlp) endpoints through file syncs; the file takes one over when it lists it', async () => {
      const s = await make(clock);
      s.syncEndpoints([{ name: 'f', options: {} }]);
      assert.deepEqual(s.addDiscovered(['d1', 'f', 'd2', 'd1']), ['d1', 'd2']);
      assert.equal(s.get('d1')?.origin, 'otlp');
      assert.equal(s.get('d1')?.status, 'never');
      assert.equal(s.get('f')?.origin, 'file');
      s.recordSuccess('d1', 42, info(42), at(1));
      s.syncEndpoints([{ name: 'd2', options: { alpha: 0.01 } }]);
      assert.deepEqual(
        s
          .list()
          .map((r) => [r.name, r.origin])
          .sort(),
        [
          ['d1', 'otlp'],
          ['d2', 'file'],
        ],
      );
      assert.equal(s.get('d1')?.storedMs, 42);
      assert.deepEqual(s.get('d2')?.options, { alpha: 0.01 });
      assert.deepEqual(s.addDiscovered(['d2']), []);
      assert.equal(s.get('d2')?.origin, 'file');
      await sameData(s, clock);
      s.close();
    });

    it('stores and serves hostile names and options verbatim', async () => {
      const s = await make(clock);
      const names = [
        "a'; DROP TABLE jit_endpoints; --",
        'b" OR 1=1 --',
        '$1 \\ %s %% ?',
        'ünïcødé 🚀 名前',
        '/path?x=1&y=2#frag',
      ];
      for (const [i, name] of names.entries()) {
        s.upsertEndpoint({ name, options: { maxMs: 100 + i } });
        s.recordSuccess(name, 10 + i, info(10 + i), at(i + 1));
      }
      assert.deepEqual(
        names.map((n) => [s.get(n)?.name, s.get(n)?.storedMs, s.get(n)?.options.maxMs]),
        names.map((n, i) => [n, 10 + i, 100 + i]),
      );
      await sameData(s, clock);
      s.close();
    });

    it('forgets history past the retention', async () => {
      let now = 1_800_000_000_000;
      const s = await make(() => now);
      s.syncEndpoints([{ name: 'a', options: {} }]);
      s.recordSuccess('a', 10, info(10), new Date(now));
      now += 8 * 86_400_000; // 8 days later, past the default 7-day retention
      s.syncEndpoints([{ name: 'a', options: {} }]);
      s.recordSuccess('a', 20, info(20), new Date(now));
      assert.deepEqual(
        (await historyOf(s, 'a')).map((p) => p.computedMs),
        [20],
      );
      s.close();
    });
  });
}
