// The broker over real HTTP: original routes byte for byte, the JSON API, bad input, bad workers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import { brokerConfig, type BrokerConfigInput } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { endpointView } from '../../src/broker/serve.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';
import {
  startScriptedWorker,
  type ScriptedAnswer,
  type ScriptedWorker,
} from '../helpers/scripted-worker.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-broker-api-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function endpointsFile(names: string[]): string {
  const path = join(dir, `endpoints-${fileNo++}.config`);
  writeFileSync(path, `# test\n${names.join('\n')}\n`);
  return path;
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

async function broker(names: string[], extra: BrokerConfigInput = {}): Promise<RunningBroker> {
  const b = await startBroker(
    brokerConfig({
      port: 0,
      endpointsFile: endpointsFile(names),
      cyclePauseMs: 600_000,
      callTimeoutMs: 2000,
      ...extra,
    }),
    { logger: false },
  );
  open.push(b);
  return b;
}

async function scripted(
  b: RunningBroker,
  answer: (e: string) => ScriptedAnswer,
): Promise<ScriptedWorker> {
  const w = await startScriptedWorker(answer);
  open.push(w);
  // Straight into the registry: POST /v1/workers would kick an extra cycle and race the test's own.
  b.registry.register(w.url, 'v1');
  return w;
}

async function seedWorker(b: RunningBroker): Promise<RunningWorker> {
  const w = await startWorker(
    workerConfig({
      port: 0,
      brokerUrl: b.url,
      source: 'seed-sample',
      strategy: 'sigma',
      heartbeatMs: 60_000,
    }),
    { logger: false },
  );
  open.push(w);
  for (let i = 0; i < 200 && !b.registry.list().some((r) => r.url === w.url); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return w;
}

async function get(url: string): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(url);
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    text: await res.text(),
  };
}

describe('original routes, byte for byte (SPEC §2)', () => {
  it('serves the default 100 for any name before anything was computed, and [] endpoints', async () => {
    const b = await broker(['customer', 'order']);
    assert.deepEqual(await get(`${b.url}/gettimeout?url=customer`), {
      status: 200,
      type: 'text/plain; charset=utf-8',
      text: '100',
    });
    assert.equal((await get(`${b.url}/gettimeout?url=anything`)).text, '100');
    assert.equal((await get(`${b.url}/getendpoints`)).text, '[]');
  });

  it('serves ceil(x + x/10) of mean + 2·sd on the sample data: 4887; 422 "Endpoint Invalid" for unknown names', async () => {
    const b = await broker(['customer', 'order']);
    await seedWorker(b);
    await b.cycles.runCycle();
    assert.deepEqual(await get(`${b.url}/gettimeout?url=customer`), {
      status: 200,
      type: 'text/plain; charset=utf-8',
      text: '4887',
    });
    assert.deepEqual(await get(`${b.url}/gettimeout?url=nope`), {
      status: 422,
      type: 'text/plain; charset=utf-8',
      text: 'Endpoint Invalid',
    });
    const eps = await get(`${b.url}/getendpoints`);
    assert.equal(eps.text, '["customer","order"]');
    assert.match(eps.type, /^application\/json/);
  });

  it('serves 100 for a listed endpoint never computed while others have values', async () => {
    const b = await broker(['good', 'broken']);
    await scripted(b, (e) =>
      e === 'good' ? 40 : { status: 500, body: '{"error":{"message":"boom"}}' },
    );
    await b.cycles.runCycle();
    assert.equal((await get(`${b.url}/gettimeout?url=good`)).text, '44');
    assert.equal((await get(`${b.url}/gettimeout?url=broken`)).text, '100');
    assert.equal((await get(`${b.url}/getendpoints`)).text, '["good"]');
  });

  it('GET /register and /unregister answer "0" and register the caller on the legacy port', async () => {
    const w = await startScriptedWorker(() => 12.5);
    open.push(w);
    const b = await broker(['customer'], { legacyWorkerPort: w.port });
    assert.deepEqual(await get(`${b.url}/register`), {
      status: 200,
      type: 'text/plain; charset=utf-8',
      text: '0',
    });
    assert.deepEqual(await get(`${b.url}/register`), {
      status: 200,
      type: 'text/plain; charset=utf-8',
      text: '0',
    });
    const workers = (await (await fetch(`${b.url}/v1/workers`)).json()) as {
      workers: { url: string; protocol: string }[];
    };
    assert.deepEqual(
      workers.workers.map((x) => [x.url, x.protocol]),
      [[w.url, 'legacy']],
    );
    await b.cycles.runCycle();
    // Registration may kick a cycle of its own besides the test's, so one or two calls.
    assert.ok(
      w.calls.length >= 1 &&
        w.calls.every((c) => c.endpoint === 'customer' && c.route === 'legacy'),
    );
    assert.equal((await get(`${b.url}/gettimeout?url=customer`)).text, '14'); // ceil(12.5 · 1.1 = 13.75)
    assert.equal((await get(`${b.url}/unregister`)).text, '0');
    assert.equal(b.registry.size, 0);
  });
});

describe('cycles', () => {
  it('damps a spike to 2 × old and serves it with the margin', async () => {
    const b = await broker(['e']);
    let v = 100;
    await scripted(b, () => v);
    await b.cycles.runCycle();
    v = 1000;
    await b.cycles.runCycle();
    const view = (await (await fetch(`${b.url}/v1/timeouts/e`)).json()) as {
      storedMs: number;
      timeoutMs: number;
    };
    assert.equal(view.storedMs, 200);
    assert.equal(view.timeoutMs, 220);
    v = 150; // decreases are never damped
    await b.cycles.runCycle();
    assert.equal((await get(`${b.url}/gettimeout?url=e`)).text, '165');
  });

  it('sends each job the previous served value, its time and the strategy state', async () => {
    const b = await broker(['e | alpha=0.01 strategy=quantile maxMs=50']);
    const w = await scripted(b, () => 100);
    await b.cycles.runCycle();
    const first = w.bodies.at(-1) as Record<string, unknown>;
    assert.deepEqual(first, { endpoint: 'e', alpha: 0.01, strategy: 'quantile' });
    const computedAt = Date.parse(b.store.get('e')?.computedAt ?? '');
    await b.cycles.runCycle();
    const second = w.bodies.at(-1) as { previous: Record<string, unknown> };
    // Served: ceil(100 + 100 / 10) = 110, clamped to the endpoint's maxMs = 50.
    assert.deepEqual(second.previous, {
      servedMs: 50,
      computedAtMs: computedAt,
      state: { calls: w.calls.length - 1 },
    });
    assert.equal((await get(`${b.url}/gettimeout?url=e`)).text, '50');
  });

  it('keeps the calibration state of the adaptive strategy across cycles', async () => {
    const b = await broker(['customer']);
    const w = await startWorker(
      workerConfig({ port: 0, brokerUrl: b.url, source: 'seed-sample', heartbeatMs: 60_000 }),
      { logger: false },
    );
    open.push(w);
    b.registry.register(w.url, 'v1');
    await b.cycles.runCycle();
    await b.cycles.runCycle();
    const view = (await (await fetch(`${b.url}/v1/timeouts/customer`)).json()) as {
      strategy: string;
      state: { v: number; corrections: number[]; weights: number[]; baseMs: number };
      status: string;
    };
    assert.equal(view.strategy, 'adaptive');
    assert.equal(view.status, 'fresh');
    // The sample has no timestamps, so there is nothing to calibrate on: the mixture's eight
    // corrections stay 0 with equal weights; the window's base travels for the next batch.
    assert.equal(view.state.v, 3);
    assert.deepEqual(view.state.corrections, new Array(8).fill(0));
    assert.deepEqual(view.state.weights, new Array(8).fill(1 / 8));
    assert.ok(view.state.baseMs > 0);
  });

  it('keeps a history of every attempt and a list of recent cycles', async () => {
    const b = await broker(['e']);
    let v: number | 'fail' = 40;
    await scripted(b, () => (v === 'fail' ? { status: 500, body: '{}' } : v));
    await b.cycles.runCycle();
    v = 'fail';
    await b.cycles.runCycle();
    v = 60;
    await b.cycles.runCycle();
    const res = await fetch(`${b.url}/v1/endpoints/e/history?limit=10`);
    const { points } = (await res.json()) as {
      points: {
        ok: boolean;
        computedMs: number | null;
        servedMs: number | null;
        error: string | null;
      }[];
    };
    assert.deepEqual(
      points.map((p) => [p.ok, p.computedMs, p.servedMs]),
      [
        [true, 40, 44],
        [false, null, 44],
        [true, 60, 66],
      ],
    );
    assert.match(points[1]?.error ?? '', /HTTP 500/);
    const latest = await fetch(`${b.url}/v1/endpoints/e/history?limit=1`);
    assert.equal(((await latest.json()) as { points: unknown[] }).points.length, 1);
    const bad = await fetch(`${b.url}/v1/endpoints/e/history?limit=0`);
    assert.equal(bad.status, 400);
    assert.equal(
      ((await bad.json()) as { error: { code: string } }).error.code,
      'INVALID_PARAMETER',
    );
    assert.equal((await fetch(`${b.url}/v1/endpoints/nope/history`)).status, 422);
    const { cycles } = (await (await fetch(`${b.url}/v1/cycles`)).json()) as {
      cycles: { done: number; failed: number }[];
    };
    assert.deepEqual(
      cycles.slice(-3).map((c) => [c.done, c.failed]),
      [
        [1, 0],
        [0, 1],
        [1, 0],
      ],
    );
  });

  it('keeps the old value and marks the endpoint stale when its computation fails', async () => {
    const b = await broker(['e', 'f']);
    let fail = false;
    await scripted(b, (e) =>
      fail && e === 'e' ? { status: 503, body: '{"error":{"message":"source down"}}' } : 50,
    );
    await b.cycles.runCycle();
    fail = true;
    const summary = await b.cycles.runCycle();
    assert.equal(summary.failed, 1);
    assert.equal(summary.done, 1);
    const { endpoints } = (await (await fetch(`${b.url}/v1/endpoints`)).json()) as {
      endpoints: { endpoint: string; status: string; storedMs: number; lastError: string }[];
    };
    const e = endpoints.find((x) => x.endpoint === 'e');
    assert.equal(e?.status, 'stale');
    assert.equal(e?.storedMs, 50);
    assert.match(e?.lastError ?? '', /source down/);
    assert.equal(endpoints.find((x) => x.endpoint === 'f')?.status, 'fresh');
    assert.equal((await get(`${b.url}/gettimeout?url=e`)).text, '55'); // ceil(50 + 50 / 10)
  });

  it('answers the current view after every change, from the cached JSON (no stale reads)', async () => {
    const b = await broker(['e', 'f']);
    let v = 40;
    let fail = true;
    await scripted(b, () => (fail ? { status: 503, body: '{"error":{"message":"down"}}' } : v));
    const check = async (step: string) => {
      const res = await fetch(`${b.url}/v1/timeouts/e`);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      const current = b.store.get('e');
      assert.ok(current);
      assert.deepEqual(
        await res.json(),
        JSON.parse(JSON.stringify(endpointView(current, b.config))),
        step,
      );
      const list = (await (await fetch(`${b.url}/v1/endpoints`)).json()) as {
        endpoints: { endpoint: string }[];
      };
      assert.deepEqual(
        list.endpoints,
        b.store.list().map((r) => JSON.parse(JSON.stringify(endpointView(r, b.config))) as unknown),
        step,
      );
      return current;
    };
    await b.cycles.runCycle();
    assert.equal((await check('never computed')).status, 'never');
    fail = false;
    await b.cycles.runCycle();
    assert.equal((await check('first value')).storedMs, 40);
    v = 70;
    await b.cycles.runCycle();
    assert.equal((await check('second value')).storedMs, 70);
    fail = true;
    await b.cycles.runCycle();
    assert.equal((await check('failed')).status, 'stale');
    const put = await fetch(`${b.url}/v1/endpoints/e`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxMs: 50 }),
    });
    assert.equal(put.status, 200);
    const clamped = await check('clamped through the admin API');
    assert.equal(clamped.options.maxMs, 50);
    assert.equal(
      ((await (await fetch(`${b.url}/v1/timeouts/e`)).json()) as { timeoutMs: number }).timeoutMs,
      50,
    );
  });

  for (const [label, answer] of [
    ['NaN', { status: 200, body: '{"timeoutMs":"NaN"}' }],
    ['negative', { status: 200, body: '{"timeoutMs":-5}' }],
    ['zero', { status: 200, body: '{"timeoutMs":0}' }],
    ['not JSON', { status: 200, body: 'fast' }],
    ['missing value', { status: 200, body: '{}' }],
    ['huge exponent', { status: 200, body: '{"timeoutMs":1e999}' }],
  ] as const) {
    it(`rejects a worker reply that is ${label} and keeps the old value`, async () => {
      const b = await broker(['e']);
      let bad = false;
      await scripted(b, () => (bad ? answer : 80));
      await b.cycles.runCycle();
      bad = true;
      const s = await b.cycles.runCycle();
      assert.equal(s.failed, 1);
      assert.equal(b.store.get('e')?.storedMs, 80);
      assert.equal(b.store.get('e')?.status, 'stale');
      assert.equal(b.registry.size, 1, 'a wrong answer is not a dead worker');
    });
  }

  it('fails a worker streaming an endless reply at the byte cap, keeps it registered and stays healthy', async () => {
    // callTimeoutMs far above the test's run time: without the cap, the job would fail only at
    // the time-out (as an eviction), after buffering whatever the worker sent until then.
    const b = await broker(['e'], { callTimeoutMs: 60_000 });
    const flood = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"timeoutMs":5,"method":"');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        if (res.destroyed) return;
        if (res.write(chunk)) setImmediate(pump);
        else res.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((r) => flood.listen(0, '127.0.0.1', r));
    open.push({
      close: () =>
        new Promise<void>((r) => {
          flood.closeAllConnections();
          flood.close(() => r());
        }),
    });
    b.registry.register(`http://127.0.0.1:${(flood.address() as AddressInfo).port}`, 'v1');
    const started = Date.now();
    const s = await b.cycles.runCycle();
    assert.ok(Date.now() - started < 15_000, `cycle took ${Date.now() - started} ms`);
    assert.equal(s.failed, 1);
    assert.equal(
      b.store.get('e')?.lastError,
      'worker reply rejected: answer larger than the 1 MiB limit',
    );
    assert.equal(b.registry.size, 1, 'a worker that answers too much is alive: not evicted');
    assert.equal((await get(`${b.url}/healthz`)).status, 200);
    assert.equal((await get(`${b.url}/gettimeout?url=e`)).text, '100');
  });

  it('times out a hanging worker, evicts it and retries on another', async () => {
    const b = await broker(['e'], { callTimeoutMs: 300 });
    const hang = await scripted(b, () => 'hang');
    const good = await scripted(b, () => 30);
    const s = await b.cycles.runCycle();
    assert.equal(s.done, 1);
    assert.equal(b.store.get('e')?.storedMs, 30);
    assert.equal(hang.calls.length, 1, 'the first lane to start is the first registered worker');
    assert.deepEqual(
      b.registry.list().map((w) => w.url),
      [good.url],
    );
  });

  it('re-reads the endpoint list every cycle and keeps the last one when the file goes missing', async () => {
    const b = await broker(['a']);
    await scripted(b, () => 20);
    await b.cycles.runCycle();
    writeFileSync(b.config.endpointsFile, 'a\nb\n# c\n');
    await b.cycles.runCycle();
    assert.deepEqual(
      b.store.list().map((r) => [r.name, r.status]),
      [
        ['a', 'fresh'],
        ['b', 'fresh'],
      ],
    );
    rmSync(b.config.endpointsFile);
    const s = await b.cycles.runCycle();
    assert.equal(s.done, 2);
    assert.equal((await get(`${b.url}/gettimeout?url=b`)).text, '22');
  });
});
