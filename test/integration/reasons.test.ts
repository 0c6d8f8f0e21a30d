// The reason behind every served value, end to end: a real worker's words, the broker's serving part, the legacy routes untouched.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { brokerConfig, type BrokerConfigInput } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker } from '../../src/worker/run.ts';
import { startScriptedWorker } from '../helpers/scripted-worker.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-reasons-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

let fileNo = 0;
async function broker(lines: string[], extra: BrokerConfigInput = {}): Promise<RunningBroker> {
  const endpointsFile = join(dir, `endpoints-${fileNo++}.config`);
  writeFileSync(endpointsFile, `${lines.join('\n')}\n`);
  const b = await startBroker(
    brokerConfig({ port: 0, endpointsFile, cyclePauseMs: 600_000, callTimeoutMs: 5000, ...extra }),
    { logger: false },
  );
  open.push(b);
  return b;
}

/** A real worker on the 522 sample durations, registered through the real API. */
async function realWorker(b: RunningBroker): Promise<void> {
  const w = await startWorker(
    workerConfig({
      port: 0,
      brokerUrl: b.url,
      source: 'seed-sample',
      strategy: 'quantile',
      heartbeatMs: 60_000,
    }),
    { logger: false },
  );
  open.push(w);
  for (let i = 0; i < 300 && !b.registry.list().some((r) => r.url === w.url); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(
    b.registry.list().some((r) => r.url === w.url),
    'the worker registered',
  );
}

interface View {
  endpoint: string;
  timeoutMs: number;
  status: string;
  reason: string;
}
const json = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;

describe('the reason behind every value', () => {
  it('a real worker and broker: the reason names the quantile, the window and the margin, everywhere', async () => {
    const b = await broker([
      'customer | strategy=quantile alpha=0.01',
      'capped | alpha=0.01 maxMs=5000',
    ]);
    await realWorker(b);
    const before = await json<{ endpoints: View[] }>(`${b.url}/v1/endpoints`);
    assert.deepEqual(
      before.endpoints.map((e) => e.reason),
      ['no value computed yet: the default 100 ms', 'no value computed yet: the default 100 ms'],
    );
    const legacyBefore = await (await fetch(`${b.url}/gettimeout?url=customer`)).text();
    assert.equal(legacyBefore, '100');

    await b.cycles.runCycle();
    const { endpoints } = await json<{ endpoints: View[] }>(`${b.url}/v1/endpoints`);
    const customer = endpoints.find((e) => e.endpoint === 'customer');
    // p99 of the sample data is 15.5 s (SPEC §2); the margin is the broker's +10 %.
    assert.equal(customer?.status, 'fresh');
    assert.match(
      customer?.reason ?? '',
      /^p99 of 522 calls = 15\.\d s, \+10 % margin = 1\d\.\d s$/,
      customer?.reason,
    );
    assert.ok(customer?.reason.endsWith(`= ${(customer.timeoutMs / 1000).toFixed(1)} s`));
    const capped = endpoints.find((e) => e.endpoint === 'capped');
    assert.equal(capped?.timeoutMs, 5000);
    assert.match(capped?.reason ?? '', /, clamped to the endpoint's max 5\.0 s$/, capped?.reason);

    const one = await json<View>(`${b.url}/v1/timeouts/customer`);
    assert.equal(one.reason, customer?.reason);
    const history = await json<{ points: { ok: boolean; reason: string | null }[] }>(
      `${b.url}/v1/endpoints/customer/history`,
    );
    assert.deepEqual(
      history.points.map((p) => p.reason),
      [customer?.reason],
    );

    // The original's routes answer exactly as before: the served number, the names, no reason.
    const legacy = await fetch(`${b.url}/gettimeout?url=customer`);
    assert.equal(legacy.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await legacy.text(), String(customer?.timeoutMs));
    const names = await fetch(`${b.url}/getendpoints`);
    assert.equal(await names.text(), '["customer","capped"]');
  });

  it('an older worker without a reason: the broker names its number and says what damping did; a failure is marked stale', async () => {
    const b = await broker(['e']);
    let answer: number | { status: number; body: string } = 100;
    const w = await startScriptedWorker(() => answer);
    open.push(w);
    b.registry.register(w.url, 'v1');
    await b.cycles.runCycle();
    answer = 1000;
    await b.cycles.runCycle();
    const view = await json<View & { storedMs: number }>(`${b.url}/v1/timeouts/e`);
    assert.equal(view.storedMs, 200);
    assert.equal(
      view.reason,
      'the worker computed 1.0 s; spike: 1.0 s is above 5 × the previous 100 ms, stored as 200 ms, +10 % margin = 220 ms',
    );
    answer = { status: 503, body: '{"error":{"code":"SOURCE_UNAVAILABLE","message":"down"}}' };
    await b.cycles.runCycle();
    const stale = await json<View>(`${b.url}/v1/timeouts/e`);
    assert.equal(stale.status, 'stale');
    assert.equal(
      stale.reason,
      `last computation failed; still serving the previous value: ${view.reason}`,
    );
    const history = await json<{ points: { ok: boolean; reason: string | null }[] }>(
      `${b.url}/v1/endpoints/e/history`,
    );
    assert.deepEqual(
      history.points.map((p) => [p.ok, p.reason]),
      [
        [true, 'the worker computed 100 ms, +10 % margin = 110 ms'],
        [true, view.reason],
        [false, stale.reason],
      ],
    );
  });

  it('a legacy (plain float) worker: its value is explained by the broker alone', async () => {
    const b = await broker(['e']);
    const w = await startScriptedWorker(() => 50);
    open.push(w);
    b.registry.register(w.url, 'legacy');
    await b.cycles.runCycle();
    const view = await json<View>(`${b.url}/v1/timeouts/e`);
    assert.equal(view.reason, 'the worker computed 50 ms, +10 % margin = 55 ms');
    assert.equal(await (await fetch(`${b.url}/gettimeout?url=e`)).text(), '55'); // the original's ceil(x + x/10)
  });
});
