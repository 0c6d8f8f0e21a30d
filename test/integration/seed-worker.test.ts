// Strategy `seed` in a real worker and broker: training never blocks the server or loses the lease.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { brokerConfig } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { acquireForecastPool, forecastPoolSize } from '../../src/strategies/seed/pool.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker } from '../../src/worker/run.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-seed-worker-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

async function broker(names: string[], leaseMs: number, cyclePauseMs: number) {
  const endpointsFile = join(dir, `endpoints-${open.length}-${Date.now()}.config`);
  writeFileSync(endpointsFile, `# seed tests\n${names.join('\n')}\n`);
  const b = await startBroker(brokerConfig({ port: 0, endpointsFile, leaseMs, cyclePauseMs }), {
    logger: false,
  });
  open.push(b);
  return b;
}

async function seedWorker(b: RunningBroker, seedOptions: Record<string, unknown>) {
  const w = await startWorker(
    workerConfig({
      port: 0,
      brokerUrl: b.url,
      heartbeatMs: 150,
      source: 'seed-sample',
      strategy: 'seed',
      strategyOptions: { seed: seedOptions },
    }),
    { logger: false },
  );
  open.push(w);
  return w;
}

interface Job {
  method: string;
  timeoutMs: number;
  computeMs: number;
  state: { epochs?: number; stoppedBy?: string; reason?: string };
}

async function compute(url: string, endpoint: string): Promise<Job & { endMs: number }> {
  const res = await fetch(`${url}/v1/compute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ endpoint }),
  });
  assert.equal(res.status, 200);
  return { ...((await res.json()) as Job), endMs: Date.now() };
}

describe('seed strategy in a worker', () => {
  it(
    'answers /healthz within 1 s and keeps its lease while two endpoints train side by side',
    { skip: forecastPoolSize() < 2 ? 'needs two cores' : false },
    async () => {
      const budgetMs = 5000;
      // Threads load tfjs at start-up (seconds on a busy machine): let that pass, so both jobs
      // get their whole budget for training.
      const pool = acquireForecastPool();
      open.push({ close: () => pool.release() });
      await pool.warmUp();
      const b = await broker([], 1000, 600_000); // no endpoints: only the test's jobs run
      const w = await seedWorker(b, { filters: 8, epochs: 100_000, patience: 0, budgetMs });
      const me = await waitFor(() => b.registry.list().find((r) => r.url === w.url));
      assert.equal(me.maxJobMs, budgetMs); // announced: the broker's call timeout fits the budget

      const started = Date.now();
      const jobs = Promise.all([compute(w.url, 'customer'), compute(w.url, 'order')]);
      let done = false;
      void jobs.finally(() => (done = true));
      const latencies: number[] = [];
      let maxInFlight = 0;
      while (!done) {
        const t = performance.now();
        const res = await fetch(`${w.url}/healthz`);
        const body = (await res.json()) as { inFlight: number };
        latencies.push(performance.now() - t);
        maxInFlight = Math.max(maxInFlight, body.inFlight);
        const lease = b.registry.list().find((r) => r.url === w.url);
        assert.ok(lease, `evicted after ${Date.now() - started} ms of training`);
        assert.equal(lease.registeredAt, me.registeredAt); // never evicted and registered anew
        await new Promise((r) => setTimeout(r, 50));
      }
      const [a, c] = await jobs;
      const slowest = Math.max(...latencies);
      assert.ok(latencies.length >= 20, `${latencies.length} health checks`);
      // Training on the event loop would block it for whole epochs (seconds with these options);
      // 1 s tells that apart from scheduling noise on a shared 2-core machine (376 ms was seen at
      // load 9). How fast /healthz answers is a benchmark's question, not this test's.
      assert.ok(slowest < 1000, `slowest /healthz took ${slowest.toFixed(0)} ms`);
      assert.equal(maxInFlight, 2);
      // Both trained until the budget (a queued job would have spent it waiting: fallback).
      for (const job of [a, c]) {
        assert.equal(job.method, 'forecast', JSON.stringify(job.state));
        assert.equal(job.state.stoppedBy, 'budget');
        assert.ok((job.state.epochs ?? 0) >= 1, JSON.stringify(job.state));
      }
      // … and at the same time: together they took one budget, not two.
      const took = Math.max(a.endMs, c.endMs) - started;
      assert.ok(took < budgetMs * 1.5, `both jobs took ${took} ms`);
    },
  );

  it('end to end: broker + worker with --strategy seed on the seed-sample source serve a forecast', async () => {
    const b = await broker(['customer', 'order'], 30_000, 100);
    await seedWorker(b, { filters: 4, epochs: 3, patience: 0 });
    const view = await waitFor(
      async () => {
        const v = (await (await fetch(`${b.url}/v1/timeouts/customer`)).json()) as {
          method: string | null;
          strategy: string | null;
          storedMs: number | null;
          timeoutMs: number;
        };
        return v.method === 'forecast' ? v : undefined;
      },
      30_000,
      { message: 'a forecast for customer' },
    );
    assert.equal(view.strategy, 'seed');
    assert.ok(view.storedMs !== null && view.storedMs > 0);
    const served = await (await fetch(`${b.url}/gettimeout?url=customer`)).text();
    assert.match(served, /^\d+$/);
    assert.ok(Number(served) > 0);
  });
});
