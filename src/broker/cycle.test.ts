// The time the broker allows a worker call: one job or a batch, with and without a job budget.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brokerConfig } from './config.ts';
import { callTimeoutFor } from './cycle.ts';
import type { WorkerRecord } from './worker-registry.ts';

const config = brokerConfig({ callTimeoutMs: 30_000 });
const worker = (maxJobMs: number | undefined) => ({ maxJobMs }) as WorkerRecord;

describe('callTimeoutFor', () => {
  it('gives a batch of fast jobs the same allowance as one job (a hung worker is found as soon)', () => {
    assert.equal(callTimeoutFor(worker(undefined), config), 30_000);
    assert.equal(callTimeoutFor(worker(undefined), config, 8), 30_000);
  });

  it('grows with the jobs of a batch when the worker announced a job budget', () => {
    assert.equal(callTimeoutFor(worker(10_000), config), 30_000); // 10 s + 5 s < 30 s
    assert.equal(callTimeoutFor(worker(10_000), config, 8), 85_000); // 8 × 10 s + 5 s
    assert.equal(callTimeoutFor(worker(600_000), config), 605_000);
  });
});
