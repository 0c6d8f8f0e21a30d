// The hedge delay the broker serves beside the timeout: the stored p95, at most the timeout, or null.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ComputationInfo, EndpointRecord } from '../store/types.ts';
import { brokerConfig } from './config.ts';
import { endpointView, endpointViewCache, hedgeForRecord, servedForRecord } from './serve.ts';

const config = brokerConfig({});

function record(
  storedMs: number | undefined,
  percentilesMs: Record<string, number>,
): EndpointRecord {
  const last: ComputationInfo | undefined =
    storedMs === undefined
      ? undefined
      : {
          computedMs: storedMs,
          strategy: 'quantile',
          method: 'test',
          samples: 100,
          meanMs: 10,
          sdMs: 1,
          percentilesMs,
          computeMs: 1,
          workerId: 'w',
          censored: 0,
          state: undefined,
          servedMs: storedMs,
        };
  return {
    name: 'e',
    options: {},
    origin: 'file',
    storedMs,
    status: storedMs === undefined ? 'never' : 'fresh',
    computedAt: undefined,
    last,
    lastError: undefined,
    attemptedAt: undefined,
  };
}

describe('hedgeForRecord', () => {
  it('is the stored p95', () => {
    const rec = record(400, { p50: 20, p90: 60, p95: 80, p99: 300 });
    assert.equal(hedgeForRecord(rec, config), 80);
    assert.equal(endpointView(rec, config).hedgeMs, 80);
  });

  it('is whole ms, rounded up (a backup never before the p95)', () => {
    assert.equal(hedgeForRecord(record(400, { p95: 36.011962890625 }), config), 37);
  });

  it('is at most the served timeout (a backup after the deadline could not win)', () => {
    const rec = record(50, { p95: 900 });
    assert.equal(hedgeForRecord(rec, config), servedForRecord(rec, config));
  });

  it('is null before any computation, without a p95 (older or legacy workers), and for p95 0', () => {
    assert.equal(hedgeForRecord(record(undefined, {}), config), null);
    assert.equal(hedgeForRecord(record(400, { p50: 20, p99: 300 }), config), null);
    assert.equal(hedgeForRecord(record(400, { p95: 0 }), config), null);
    assert.equal(endpointView(record(undefined, {}), config).hedgeMs, null);
  });
});

describe('endpointViewCache', () => {
  const named = (name: string, storedMs: number): EndpointRecord => ({
    ...record(storedMs, { p95: 10 }),
    name,
  });
  const fresh = (rec: EndpointRecord) => JSON.stringify(endpointView(rec, config));

  it("answers each record's view text, made again for a changed record", () => {
    const viewJson = endpointViewCache(config);
    const a = named('a', 100);
    const text = viewJson(a);
    assert.equal(text, fresh(a));
    assert.equal(viewJson(a), text);
    const changed = named('a', 200);
    assert.equal(viewJson(changed), fresh(changed));
    assert.notEqual(viewJson(changed), text);
    assert.equal(viewJson.cached(), 1, "the changed record took the old text's place");
  });

  it('keeps at most maxTexts, the most recently built, and still answers the others', () => {
    const viewJson = endpointViewCache(config, 2);
    const recs = ['a', 'b', 'c'].map((n, i) => named(n, 100 + i));
    for (const r of recs) assert.equal(viewJson(r), fresh(r));
    assert.equal(viewJson.cached(), 2);
    // 'a' went first; made again, it is right, and the cache stays bounded.
    assert.equal(viewJson(recs[0] as EndpointRecord), fresh(recs[0] as EndpointRecord));
    assert.equal(viewJson.cached(), 2);
    const none = endpointViewCache(config, 0);
    assert.equal(none(recs[1] as EndpointRecord), fresh(recs[1] as EndpointRecord));
    assert.equal(none.cached(), 0);
  });
});
