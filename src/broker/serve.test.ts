// The hedge delay the broker serves beside the timeout: the stored p95, at most the timeout, or null.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ComputationInfo, EndpointRecord } from '../store/types.ts';
import { brokerConfig } from './config.ts';
import { endpointView, hedgeForRecord, servedForRecord } from './serve.ts';

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
