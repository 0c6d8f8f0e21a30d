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
          tried.length === 1 ? { ok: false, evict: false, error: 'HTTP 500' } : ok(7),
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
        return w.id === 'dead' ? { ok: false, evict: true, error: 'ECONNREFUSED' } : ok(1);
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
      call: (w, e) => Promise.resolve({ ok: false, evict: false, error: `${e} failed on ${w.id}` }),
    });
    assert.equal(results.length, 2);
    for (const r of results) {
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, /failed on/);
    }
  });

  it('fails the remaining jobs when every worker is gone, without hanging', async () => {
    const results = await dispatch(names(5), [worker('a'), worker('b')], {
      maxAttempts: 2,
      onUnreachable: () => undefined,
      call: () => Promise.resolve({ ok: false, evict: true, error: 'timed out' }),
    });
    assert.equal(results.length, 5);
    assert.ok(results.every((r) => !r.ok));
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
});
