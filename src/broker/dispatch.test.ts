// The fan-out: in-flight bounds, retry on another worker, eviction, no lost or duplicated jobs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dispatch } from './dispatch.ts';
import type { CallOutcome } from './worker-client.ts';
import type { WorkerRecord } from './worker-registry.ts';

function worker(id: string, concurrency = 1): WorkerRecord {
  return {
    id,
    url: `http://127.0.0.1/${id}`,
    protocol: 'v1',
    concurrency,
    maxJobMs: undefined,
    maxBatch: 1,
    registeredAt: 0,
    lastHeartbeatAt: 0,
    leaseMs: 30_000,
    jobsDone: 0,
    jobsFailed: 0,
    inFlight: 0,
  };
}

const ok = (v: number): CallOutcome => ({
  ok: true,
  reply: {
    timeoutMs: v,
    strategy: 's',
    method: 'm',
    samples: 1,
    meanMs: 1,
    sdMs: 0,
    percentilesMs: {},
    computeMs: 0,
    censored: 0,
  },
});
const names = (n: number) => Array.from({ length: n }, (_, i) => `e${i}`);

describe('dispatch', () => {
  it('runs every job once, never more than `concurrency` at a time per worker', async () => {
    const peak = new Map<string, number>();
    const calls: string[] = [];
    const ws = [worker('a', 1), worker('b', 3)];
    const results = await dispatch(names(20), ws, {
      maxAttempts: 2,
      onUnreachable: () => assert.fail('nobody is unreachable'),
      call: async (w, e) => {
        calls.push(e);
        peak.set(w.id, Math.max(peak.get(w.id) ?? 0, w.inFlight));
        await sleep(2);
        return ok(1);
      },
    });
    assert.equal(results.length, 20);
    assert.ok(results.every((r) => r.ok));
    assert.deepEqual([...calls].sort(), names(20).sort());
    assert.equal(peak.get('a'), 1);
    assert.ok((peak.get('b') ?? 0) <= 3 && (peak.get('b') ?? 0) > 1);
    assert.equal(ws[0]!.jobsDone + ws[1]!.jobsDone, 20);
  });

  it('retries a failed job once on another worker', async () => {
    const tried: string[] = [];
    const results = await dispatch(['x'], [worker('a'), worker('b')], {
      maxAttempts: 2,
      onUnreachable: () => undefined,
      call: (w) => {
        tried.push(w.id);
        return Promise.resolve(
          tried.length === 1 ? { ok: false, kind: 'worker-error', error: 'HTTP 500' } : ok(7),
        );
      },
    });
    assert.equal(tried.length, 2);
    assert.notEqual(tried[0], tried[1]);
    assert.deepEqual(
      results.map((r) => r.ok && r.workerId),
      [tried[1]],
    );
  });

  it('stops using an unreachable worker and finishes its jobs on the others', async () => {
    const unreachable: string[] = [];
    const byWorker = new Map<string, number>();
    const results = await dispatch(names(10), [worker('dead'), worker('live')], {
      maxAttempts: 2,
      onUnreachable: (w) => unreachable.push(w.id),
      call: async (w) => {
        byWorker.set(w.id, (byWorker.get(w.id) ?? 0) + 1);
        await sleep(1);
        return w.id === 'dead' ? { ok: false, kind: 'unreachable', error: 'ECONNREFUSED' } : ok(1);
      },
    });
    assert.deepEqual(unreachable, ['dead']);
    assert.equal(byWorker.get('dead'), 1);
    assert.equal(results.filter((r) => r.ok).length, 10);
  });

  it('gives up after maxAttempts and reports the last error', async () => {
    const results = await dispatch(['x', 'y'], [worker('a'), worker('b'), worker('c')], {
      maxAttempts: 2,
      onUnreachable: () => undefined,
      call: (w, e) =>
        Promise.resolve({ ok: false, kind: 'refused', error: `${e} failed on ${w.id}` }),
    });
    assert.equal(results.length, 2);
    for (const r of results) {
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, /failed on/);
      if (!r.ok) assert.equal(r.kind, 'refused', 'the kind travels with the failure');
    }
  });

  it('fails the remaining jobs when every worker is gone, without hanging', async () => {
    const results = await dispatch(names(5), [worker('a'), worker('b')], {
      maxAttempts: 2,
      onUnreachable: () => undefined,
      call: () => Promise.resolve({ ok: false, kind: 'timeout', error: 'timed out' }),
    });
    assert.equal(results.length, 5);
    assert.ok(results.every((r) => !r.ok));
    // Two jobs ran (one per worker, each evicting it); the three that never ran are 'no-worker'.
    const kinds = results.map((r) => (r.ok ? 'ok' : r.kind)).sort();
    assert.deepEqual(kinds, ['no-worker', 'no-worker', 'no-worker', 'timeout', 'timeout']);
  });

  it("marks a call that threw as the broker's own failure ('internal')", async () => {
    const results = await dispatch(['x'], [worker('a')], {
      maxAttempts: 1,
      onUnreachable: () => assert.fail('a throwing call says nothing about the worker'),
      call: () => Promise.reject(new Error('boom')),
    });
    assert.deepEqual(
      results.map((r) => (r.ok ? r : { kind: r.kind, error: r.error })),
      [{ kind: 'internal', error: 'boom' }],
    );
  });

  it('treats a thrown call as a failed attempt', async () => {
    let n = 0;
    const results = await dispatch(['x'], [worker('a'), worker('b')], {
      maxAttempts: 2,
      onUnreachable: () => undefined,
      call: () => (n++ === 0 ? Promise.reject(new Error('boom')) : Promise.resolve(ok(3))),
    });
    assert.equal(results[0]?.ok, true);
  });

  describe('batches', () => {
    /** `call` and `callBatch` from one per-job answer, recording every call's size. */
    const calls = (answer: (w: WorkerRecord, e: string) => CallOutcome, sizes: number[] = []) => ({
      call: async (w: WorkerRecord, e: string) => {
        sizes.push(1);
        await sleep(1);
        return answer(w, e);
      },
      callBatch: async (w: WorkerRecord, batch: string[]) => {
        sizes.push(batch.length);
        assert.equal(w.inFlight, batch.length); // in flight counts jobs, not calls
        await sleep(1);
        return batch.map((e) => answer(w, e));
      },
    });

    it('sends up to batchSize jobs per call, shrinking to an even share near the end', async () => {
      const sizes: number[] = [];
      const seen: string[] = [];
      const results = await dispatch(names(50), [worker('a'), worker('b')], {
        maxAttempts: 2,
        onUnreachable: () => assert.fail('nobody is unreachable'),
        batchSize: () => 8,
        ...calls((_w, e) => (seen.push(e), ok(2)), sizes),
      });
      assert.equal(results.length, 50);
      assert.ok(results.every((r) => r.ok));
      assert.deepEqual([...seen].sort(), names(50).sort()); // each job once
      assert.equal(Math.max(...sizes), 8);
      assert.ok(sizes.length < 20, `50 jobs in few calls: ${sizes.join(' ')}`);
      assert.ok(
        sizes.slice(-2).every((n) => n < 8),
        `the last calls are small: ${sizes.join(' ')}`,
      );
    });

    it('keeps one job per call for workers with batch size 1', async () => {
      const sizes: number[] = [];
      await dispatch(names(6), [worker('a')], {
        maxAttempts: 1,
        onUnreachable: () => undefined,
        batchSize: () => 1,
        ...calls(() => ok(1), sizes),
      });
      assert.deepEqual(sizes, [1, 1, 1, 1, 1, 1]);
    });

    it('retries only the failed jobs of a batch, on another worker', async () => {
      const attempts = new Map<string, string[]>();
      const results = await dispatch(names(8), [worker('a'), worker('b')], {
        maxAttempts: 2,
        onUnreachable: () => undefined,
        batchSize: () => 4,
        ...calls((w, e) => {
          attempts.set(e, [...(attempts.get(e) ?? []), w.id]);
          return e === 'e1' && w.id === 'a'
            ? { ok: false, kind: 'refused', error: 'HTTP 422' }
            : ok(3);
        }),
      });
      assert.equal(results.length, 8);
      assert.ok(results.every((r) => r.ok));
      for (const [e, ws] of attempts) {
        if (e === 'e1' && ws[0] === 'a') assert.deepEqual(ws, ['a', 'b']);
        else assert.equal(ws.length, 1, `${e} ran once: ${ws.join(',')}`);
      }
    });

    it('evicts a worker whose batch call found nobody, once, and runs its jobs elsewhere', async () => {
      const unreachable: string[] = [];
      const sizes: number[] = [];
      const results = await dispatch(names(12), [worker('dead'), worker('live')], {
        maxAttempts: 2,
        onUnreachable: (w) => unreachable.push(w.id),
        batchSize: () => 4,
        ...calls(
          (w) =>
            w.id === 'dead' ? { ok: false, kind: 'unreachable', error: 'ECONNREFUSED' } : ok(1),
          sizes,
        ),
      });
      assert.deepEqual(unreachable, ['dead']);
      assert.ok(sizes.some((n) => n > 1));
      assert.equal(results.length, 12);
      assert.ok(results.every((r) => r.ok && r.workerId === 'live'));
    });

    it('fails every job of a call that answered the wrong number of outcomes', async () => {
      const results = await dispatch(names(3), [worker('a')], {
        maxAttempts: 1,
        onUnreachable: () => undefined,
        batchSize: () => 3,
        call: () => assert.fail('three jobs for one lane go in one batch'),
        callBatch: () => Promise.resolve([ok(1)]),
      });
      assert.equal(results.length, 3);
      for (const r of results) {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.error, /1 outcomes for 3 jobs/);
        if (!r.ok) assert.equal(r.kind, 'internal');
      }
    });
  });
});
