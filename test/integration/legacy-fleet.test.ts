// Mixed fleets during a migration (issue 20): our broker with a stand-in of the original worker,
// our worker with a stand-in of the original broker (Python/Flask, test/fixtures/legacy, SPEC §2).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { flaskSkip, startStandIn, type StandIn } from '../helpers/flask.ts';
import { freePort } from '../helpers/influxd.ts';
import { jsonLines, killAll, spawnJit, type JitProcess } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-legacy-'));
const standIns: StandIn[] = [];
const jits: JitProcess[] = [];
afterEach(async () => {
  await Promise.all(jits.splice(0).map((p) => p.kill()));
  await Promise.all(standIns.splice(0).map((s) => s.stop()));
});
after(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

async function getText(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return (await res.json()) as T;
}

interface WorkerView {
  id: string;
  url: string;
  protocol: string;
}

interface WorkerStandInState {
  calls: number;
  slow_calls: number;
  registrations: number;
}

/** Our broker (a real `jit broker`) whose legacy workers are called on `legacyPort`. */
async function broker(legacyPort: number, extra: string[]): Promise<JitProcess> {
  const endpoints = join(dir, `endpoints-${legacyPort}.config`);
  writeFileSync(endpoints, 'customer\n');
  const b = await spawnJit([
    'broker',
    '--port',
    '0',
    '--endpoints',
    endpoints,
    '--cycle-pause-ms',
    '200',
    '--legacy-worker-port',
    String(legacyPort),
    ...extra,
  ]);
  jits.push(b);
  return b;
}

function originalWorker(brokerUrl: string, port: number, args: string[] = []): StandIn {
  const w = startStandIn('original-worker.py', [
    '--broker',
    brokerUrl,
    '--port',
    String(port),
    ...args,
  ]);
  standIns.push(w);
  return w;
}

const messages = (p: JitProcess) => jsonLines(p.stdout()).map((l) => String(l.msg));

describe('our broker with original workers (SPEC §2, Worker)', { skip: flaskSkip() }, () => {
  it('keeps a worker that registers before it listens, uses its values, and waits for its slow answers', async () => {
    const port = await freePort();
    // A v1 call may take 1 s here; a legacy one 10 s.
    const b = await broker(port, [
      '--call-timeout-ms',
      '1000',
      '--legacy-call-timeout-ms',
      '10000',
    ]);
    const w = originalWorker(b.url, port, ['--listen-delay', '1.5', '--renew-seconds', '1']);
    // The broker's first cycle after GET /register finds nothing listening on the port…
    await waitFor(
      () => messages(b).some((m) => m.startsWith('legacy worker not listening yet')),
      15_000,
      { message: 'the grace line' },
    );
    // …keeps the worker, and serves its value once it listens: ceil(x + x/10) of 4442.025… ms.
    await waitFor(
      async () => (await getText(`${b.url}/gettimeout?url=customer`)).text === '4887',
      15_000,
      { message: `served 4887\n${w.logs()}` },
    );
    const { workers } = await getJson<{ workers: WorkerView[] }>(`${b.url}/v1/workers`);
    assert.equal(workers.length, 1);
    assert.equal(workers[0]?.protocol, 'legacy');
    assert.equal(workers[0]?.url, `http://127.0.0.1:${port}`);

    // Answers slower than the v1 call timeout (1 s) but within the legacy one (10 s).
    const control = `http://127.0.0.1:${port}/control`;
    await getJson(`${control}?slow=2&value=1000`);
    await waitFor(
      async () => (await getText(`${b.url}/gettimeout?url=customer`)).text === '1100',
      15_000,
      { message: 'the slow answer served' },
    );
    const after = await getJson<WorkerStandInState>(control);
    assert.ok(after.slow_calls >= 1);
    assert.ok(after.registrations >= 2, 'renewed its registration'); // every second here
    const still = await getJson<{ workers: WorkerView[] }>(`${b.url}/v1/workers`);
    assert.deepEqual(
      still.workers.map((x) => x.id),
      workers.map((x) => x.id),
      'the same worker, never evicted',
    );
    assert.ok(!messages(b).includes('worker evicted'), b.stdout());
  });

  it('evicts a legacy worker that is slower than --legacy-call-timeout-ms', async () => {
    const port = await freePort();
    const b = await broker(port, ['--legacy-call-timeout-ms', '1000']);
    originalWorker(b.url, port, ['--listen-delay', '0.5', '--slow-seconds', '2.5']);
    const evicted = await waitFor(
      () => jsonLines(b.stdout()).find((l) => l.msg === 'worker evicted'),
      15_000,
      { message: 'an eviction' },
    );
    assert.match(String(evicted.reason), /no answer within 1000 ms/);
    assert.equal((await getText(`${b.url}/gettimeout?url=customer`)).text, '100'); // never computed
  });

  it('without the grace period the same worker is evicted, and comes back only at its renewal', async () => {
    const port = await freePort();
    const b = await broker(port, ['--legacy-grace-ms', '0']);
    const w = originalWorker(b.url, port, ['--listen-delay', '1', '--renew-seconds', '3']);
    await waitFor(() => messages(b).includes('worker evicted'), 15_000, {
      message: 'an eviction',
    });
    // The renewal (3 s later here, 10 min for the original) brings it back: values then flow.
    await waitFor(
      async () => (await getText(`${b.url}/gettimeout?url=customer`)).text === '4887',
      20_000,
      { message: `served 4887 after the renewal\n${w.logs()}` },
    );
    const state = await getJson<WorkerStandInState>(`http://127.0.0.1:${port}/control`);
    assert.ok(state.registrations >= 2);
  });
});

interface BrokerStandInState {
  workers: string[];
  values: Record<string, number>;
  registrations: number;
  unregistrations: number;
  removed: string[];
}

describe('our worker with an original broker (SPEC §2, Broker)', { skip: flaskSkip() }, () => {
  it('registers with GET /register, answers on the legacy port, renews, and unregisters at exit', async () => {
    const [brokerPort, legacyPort] = [await freePort(), await freePort()];
    const ob = startStandIn('original-broker.py', [
      '--port',
      String(brokerPort),
      '--worker-port',
      String(legacyPort),
      '--endpoints',
      'customer,driver',
      '--pause-seconds',
      '0.3',
    ]);
    standIns.push(ob);
    const obUrl = `http://127.0.0.1:${brokerPort}`;
    await waitFor(async () => (await getText(`${obUrl}/state`)).status === 200, 15_000, {
      message: `the original broker stand-in\n${ob.logs()}`,
    });
    // The worker listens on a port of its own (0): the original broker calls legacyPort.
    const w = await spawnJit([
      'worker',
      '--port',
      '0',
      '--broker',
      obUrl,
      '--legacy-port',
      String(legacyPort),
      '--legacy-renew-ms',
      '1000',
      '--source',
      'seed-sample',
      '--strategy',
      'sigma',
    ]);
    jits.push(w);
    const state = await waitFor(
      async () => {
        const s = await getJson<BrokerStandInState>(`${obUrl}/state`);
        return s.values.customer !== undefined && s.values.driver !== undefined && s;
      },
      15_000,
      { message: `values at the original broker\n${w.logs()}\n${ob.logs()}` },
    );
    assert.deepEqual(state.workers, ['127.0.0.1']);
    assert.deepEqual(state.removed, []);
    // What the original broker stored is float() of what our worker answers on its own route.
    const own = await getText(`${w.url}/computetimeout?url=customer`);
    assert.equal(state.values.customer, Number(own.text));
    assert.equal((await getText(`${obUrl}/gettimeout?url=customer`)).text, '4887'); // sigma, k = 2
    const fallback = messages(w).filter((m) => m.startsWith('broker has no v1 API'));
    assert.equal(fallback.length, 1, 'said once');
    assert.match(
      fallback[0] ?? '',
      new RegExp(`GET /computetimeout on http://127\\.0\\.0\\.1:${legacyPort}`),
    );
    await waitFor(
      async () => (await getJson<BrokerStandInState>(`${obUrl}/state`)).registrations >= 2,
      10_000,
      { message: 'a renewal' },
    );
    assert.equal(messages(w).filter((m) => m.startsWith('broker has no v1 API')).length, 1);

    await w.kill();
    const end = await getJson<BrokerStandInState>(`${obUrl}/state`);
    assert.deepEqual(end.workers, [], 'GET /unregister at exit');
    assert.equal(end.unregistrations, 1);
  });
});
