// Batched jobs over real HTTP: the worker's POST /v1/compute/batch, and a broker cycle that uses it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { brokerConfig } from '../../src/broker/config.ts';
import { SourceUnavailableError } from '../../src/core/errors.ts';
import { createSeedSampleSource } from '../../src/sources/seed-sample.ts';
import type { LatencySource } from '../../src/sources/types.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';

const ENDPOINTS = Array.from({ length: 20 }, (_, i) => `/api/batch-${i}`);
const dir = mkdtempSync(join(tmpdir(), 'jit-batch-'));
let broker: RunningBroker;
let worker: RunningWorker;

before(async () => {
  const endpointsFile = join(dir, 'endpoints.config');
  writeFileSync(endpointsFile, ENDPOINTS.join('\n'));
  broker = await startBroker(
    brokerConfig({ port: 0, endpointsFile, cyclePauseMs: 600_000, batchSize: 8 }),
    { logger: false },
  );
  worker = await startWorker(
    workerConfig({
      port: 0,
      brokerUrl: broker.url,
      source: 'seed-sample',
      strategy: 'quantile',
      maxBatch: 5,
      heartbeatMs: 60_000,
    }),
    { logger: false },
  );
  for (let i = 0; i < 300 && broker.registry.size === 0; i++)
    await new Promise((r) => setTimeout(r, 10));
});

after(async () => {
  await worker.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${worker.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('POST /v1/compute/batch', () => {
  it('answers each job in order: its result, or the status and error its own call would get', async () => {
    const single = await post('/v1/compute', { endpoint: 'customer' });
    const batch = await post('/v1/compute/batch', {
      jobs: [{ endpoint: 'customer' }, { endpoint: 'x', strategy: 'nope' }, { endpoint: '' }],
    });
    assert.equal(batch.status, 200);
    const [a, b, c] = batch.body.results as Record<string, unknown>[];
    assert.equal(a?.endpoint, 'customer');
    assert.equal(a?.timeoutMs, single.body.timeoutMs);
    assert.equal(b?.status, 422);
    assert.equal((b?.error as { code: string }).code, 'UNKNOWN_STRATEGY');
    assert.equal(c?.status, 400);
    assert.equal((c?.error as { code: string }).code, 'INVALID_ENDPOINT_NAME');
  });

  it('refuses more jobs than the worker takes, and an empty or malformed batch, with 400', async () => {
    for (const body of [
      { jobs: Array.from({ length: 6 }, () => ({ endpoint: 'customer' })) },
      { jobs: [] },
      { jobs: [{ endpoint: 7 }] },
      { endpoint: 'customer' },
    ]) {
      const res = await post('/v1/compute/batch', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((res.body.error as { code: string }).code, 'INVALID_BODY');
    }
  });
});

describe('a broker cycle with a worker that takes batches', () => {
  it('announces its batch size and computes every endpoint in fewer calls than jobs', async () => {
    const workers = (await (await fetch(`${broker.url}/v1/workers`)).json()) as {
      workers: { maxBatch: number }[];
    };
    assert.equal(workers.workers[0]?.maxBatch, 5);
    const summary = await broker.cycles.runCycle();
    assert.equal(summary.done, ENDPOINTS.length);
    for (const name of ENDPOINTS) assert.equal(broker.store.get(name)?.status, 'fresh', name);
    // The worker's request counts per route: batches of at most min(8, 5) jobs.
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    const count = (route: string) =>
      Number(
        new RegExp(
          `jit_http_request_duration_seconds_count\\{method="POST",route="${route}",status_code="200"\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    const calls = count('/v1/compute/batch') - 1 + count('/v1/compute') - 1; // less the test above
    assert.ok(calls >= ENDPOINTS.length / 5 && calls < ENDPOINTS.length / 2, `${calls} calls`);
  });
});

describe('a batch behind a recording source', () => {
  // The sample source behind a seam that records reads: how many at once, in which order, and
  // fails at once for "down".
  const sample = createSeedSampleSource();
  const reads: string[] = [];
  let open = 0;
  let most = 0;
  const source: LatencySource = {
    name: 'recording',
    check: () => Promise.resolve(),
    async fetchWindow(endpoint, options) {
      reads.push(endpoint);
      if (endpoint === 'down') throw new SourceUnavailableError('recording', 'down on purpose');
      most = Math.max(most, ++open);
      try {
        await sleep(5);
        return await sample.fetchWindow(endpoint, options);
      } finally {
        open--;
      }
    },
  };
  let own: RunningWorker;
  before(async () => {
    own = await startWorker(
      workerConfig({ port: 0, register: false, strategy: 'quantile', maxBatch: 10 }),
      { source, logger: false },
    );
  });
  after(() => own.close());

  it('answers every job in order, one read at a time, a failed read failing only its job', async () => {
    const names = ['a', 'b', 'down', 'c', 'bad\u0000name', 'd'];
    const res = await fetch(`${own.url}/v1/compute/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jobs: names.map((endpoint) => ({ endpoint })) }),
    });
    assert.equal(res.status, 200);
    const { results } = (await res.json()) as { results: Record<string, unknown>[] };
    assert.deepEqual(
      results.map((r) => r.endpoint ?? r.status),
      ['a', 'b', 503, 'c', 400, 'd'],
    );
    assert.deepEqual(reads, ['a', 'b', 'down', 'c', 'd'], 'a bad name is never read');
    assert.equal(most, 1, 'never two reads in flight for one call');
    assert.equal((await fetch(`${own.url}/healthz`)).status, 200);
  });
});
