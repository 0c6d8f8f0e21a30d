// Worker and broker faults with real `jit` processes on loopback: SIGKILL, restart, SIGTERM, bad config, --help.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { brokerCommand } from '../../src/cli/broker-command.ts';
import { demoCommand } from '../../src/cli/demo-command.ts';
import { workerCommand } from '../../src/cli/worker-command.ts';
import { jsonLines, killAll, runJit, spawnJit, type JitProcess } from '../helpers/processes.ts';

const ENDPOINTS = ['customer', 'order', 'route', 'driver', 'payment', 'inventory'];
const LEASE_MS = 3000;
const HEARTBEAT_MS = 500;

interface WorkerView {
  id: string;
  url: string;
  jobsDone: number;
  jobsFailed: number;
}
interface EndpointView {
  endpoint: string;
  status: 'fresh' | 'stale' | 'never';
  computedAt: string | null;
}
interface CycleView {
  cycle: number;
  startedAt: string;
  endpoints: number;
  done: number;
  failed: number;
  workersUsed: number;
  skipped?: string;
}

/** Polls `fn` until it returns a truthy value (thrown errors count as "not yet"); fails after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as T;
  if (!res.ok && res.status !== 503) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return body;
}

const workersOf = async (broker: string) =>
  (await getJson<{ workers: WorkerView[] }>(`${broker}/v1/workers`)).workers;
const endpointsOf = async (broker: string) =>
  (await getJson<{ endpoints: EndpointView[] }>(`${broker}/v1/endpoints`)).endpoints;
const lastCycleOf = async (broker: string) =>
  (await getJson<{ lastCycle: CycleView | null }>(`${broker}/readyz`)).lastCycle;

/** Every endpoint of the list is known, fresh, and (when `since` is given) computed after it. */
async function allFresh(broker: string, since?: number): Promise<EndpointView[] | undefined> {
  const eps = await endpointsOf(broker);
  const ok =
    eps.length === ENDPOINTS.length &&
    eps.every(
      (e) =>
        e.status === 'fresh' &&
        e.computedAt !== null &&
        (since === undefined || Date.parse(e.computedAt) > since),
    );
  return ok ? eps : undefined;
}

let tmp: string;
let endpointsFile: string;

function brokerArgs(extra: string[]): string[] {
  return [
    'broker',
    '--endpoints',
    endpointsFile,
    '--cycle-pause-ms',
    '300',
    '--call-timeout-ms',
    '3000',
    ...extra,
  ];
}

function startWorker(brokerUrl: string): Promise<JitProcess> {
  return spawnJit([
    'worker',
    '--port',
    '0',
    '--broker',
    brokerUrl,
    '--source',
    'seed-sample',
    '--heartbeat-ms',
    String(HEARTBEAT_MS),
  ]);
}

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'jit-worker-faults-'));
  endpointsFile = join(tmp, 'endpoints.config');
  writeFileSync(endpointsFile, `# worker-faults test\n${ENDPOINTS.join('\n')}\n`);
});

after(async () => {
  await killAll();
  rmSync(tmp, { recursive: true, force: true });
});

describe('a broker and two workers: a worker crashes, restarts, and the broker restarts', () => {
  let broker: JitProcess;
  let w1: JitProcess;
  let w2: JitProcess;
  let w3: JitProcess;

  before(async () => {
    broker = await spawnJit(brokerArgs(['--port', '0', '--lease-ms', String(LEASE_MS)]));
    [w1, w2] = await Promise.all([startWorker(broker.url), startWorker(broker.url)]);
  });

  // Stop this group's cycles so they do not slow the tests that follow.
  after(killAll);

  test('both workers register and every endpoint becomes fresh', async () => {
    await waitFor(
      'both workers in /v1/workers',
      async () => {
        const urls = (await workersOf(broker.url)).map((w) => w.url);
        return urls.includes(w1.url) && urls.includes(w2.url);
      },
      10_000,
    );
    await waitFor('every endpoint fresh', () => allFresh(broker.url), 10_000);
  });

  test('a SIGKILLed worker leaves the registry within its lease; the survivor computes every endpoint', async () => {
    // Both workers take part in the cycles before the crash.
    const survivorBefore = await waitFor(
      'both workers to have done jobs',
      async () => {
        const ws = await workersOf(broker.url);
        const a = ws.find((w) => w.url === w1.url);
        const b = ws.find((w) => w.url === w2.url);
        return a && b && a.jobsDone > 0 && b.jobsDone > 0 ? b : undefined;
      },
      10_000,
    );

    const killedAt = Date.now();
    await w1.kill('SIGKILL');

    await waitFor(
      'the killed worker to leave /v1/workers',
      async () => !(await workersOf(broker.url)).some((w) => w.url === w1.url),
      LEASE_MS * 2,
      50,
    );
    const goneAt = Date.now();
    assert.ok(
      goneAt - killedAt < LEASE_MS + 1000,
      `gone after ${goneAt - killedAt} ms, lease is ${LEASE_MS} ms`,
    );
    // The log line may reach the pipe a moment after the registry changed: poll for it.
    await waitFor(
      'the broker to log the eviction of the killed worker',
      () => jsonLines(broker.stdout()).find((l) => l.msg === 'worker evicted' && l.url === w1.url),
      3000,
      50,
    );

    // A whole cycle that started after the eviction: only the survivor, nothing failed.
    const cycle = await waitFor(
      'a cycle started after the eviction',
      async () => {
        const c = await lastCycleOf(broker.url);
        return c && !c.skipped && Date.parse(c.startedAt) >= goneAt ? c : undefined;
      },
      10_000,
      50,
    );
    assert.equal(cycle.endpoints, ENDPOINTS.length);
    assert.equal(cycle.done, ENDPOINTS.length, JSON.stringify(cycle));
    assert.equal(cycle.failed, 0, JSON.stringify(cycle));
    assert.equal(cycle.workersUsed, 1);

    // Every endpoint has a new successful computation, done by the survivor.
    const eps = await waitFor(
      'every endpoint computed after the kill',
      () => allFresh(broker.url, killedAt),
      10_000,
    );
    assert.equal(eps.length, ENDPOINTS.length);
    const survivor = (await workersOf(broker.url)).find((w) => w.url === w2.url);
    assert.ok(survivor, 'the surviving worker is still registered');
    assert.ok(
      survivor.jobsDone - survivorBefore.jobsDone >= ENDPOINTS.length,
      `survivor did ${survivor.jobsDone - survivorBefore.jobsDone} jobs since the kill`,
    );

    // The retry on the other worker means no cycle since the kill left an endpoint failed.
    const cyclesSinceKill = jsonLines(broker.stdout()).filter(
      (l) =>
        typeof l.startedAt === 'string' &&
        typeof l.failed === 'number' &&
        Date.parse(l.startedAt) >= killedAt - 1000,
    );
    assert.ok(cyclesSinceKill.length > 0);
    for (const c of cyclesSinceKill) assert.equal(c.failed, 0, `cycle ${JSON.stringify(c)}`);
  });

  test('a worker restarted on a new port registers on its own and gets jobs', async () => {
    w3 = await startWorker(broker.url);
    assert.notEqual(w3.url, w1.url);
    const rec = await waitFor(
      'the restarted worker to register and do a job',
      async () => {
        const w = (await workersOf(broker.url)).find((x) => x.url === w3.url);
        return w && w.jobsDone > 0 ? w : undefined;
      },
      10_000,
    );
    assert.equal(rec.jobsFailed, 0);
    assert.equal((await workersOf(broker.url)).length, 2);
  });

  test('after a broker restart on the same port, the workers re-register on their own', async () => {
    const oldUrl = broker.url;
    const port = new URL(oldUrl).port;
    await broker.kill('SIGKILL');
    const restartedAt = Date.now();
    broker = await spawnJit(brokerArgs(['--port', port, '--lease-ms', String(LEASE_MS)]));
    assert.equal(broker.url, oldUrl);

    await waitFor(
      'both surviving workers in the new broker',
      async () => {
        const urls = (await workersOf(broker.url)).map((w) => w.url);
        return urls.includes(w2.url) && urls.includes(w3.url) && urls.length === 2;
      },
      15_000,
    );
    // They came back through the heartbeat: the new broker answered 404 to the old id.
    for (const w of [w2, w3]) {
      assert.match(w.stdout(), /broker does not know this worker; re-registering/);
    }
    await waitFor('every endpoint fresh again', () => allFresh(broker.url, restartedAt), 10_000);
  });
});

describe('a worker stopped with SIGTERM', () => {
  test('unregisters before exiting, long before its lease would run out', async () => {
    // Long lease and long pause: neither the lease nor a failed call can remove the worker.
    const broker = await spawnJit(
      brokerArgs(['--port', '0', '--lease-ms', '60000', '--cycle-pause-ms', '60000']),
    );
    const worker = await startWorker(broker.url);
    const rec = await waitFor(
      'the worker to register',
      async () => (await workersOf(broker.url)).find((w) => w.url === worker.url),
      10_000,
    );

    const t0 = Date.now();
    await worker.kill('SIGTERM');
    const exit = await worker.exited;
    const stoppedMs = Date.now() - t0;
    assert.equal(exit.code, 0, worker.logs());
    assert.ok(stoppedMs < 5000, `took ${stoppedMs} ms to stop`);

    // No polling: the worker waited for the broker's answer before exiting.
    const ws = await workersOf(broker.url);
    assert.ok(!ws.some((w) => w.url === worker.url), JSON.stringify(ws));
    assert.match(worker.stdout(), /unregistered from broker/);
    const brokerLog = jsonLines(broker.stdout());
    assert.ok(brokerLog.some((l) => l.msg === 'worker unregistered' && l.workerId === rec.id));
    assert.ok(!brokerLog.some((l) => l.msg === 'worker evicted'), 'removed by DELETE, not evicted');
    await broker.kill();
  });
});

describe('the command line', () => {
  test('a hostile broker config exits with code 2 and lists every problem at once', async () => {
    const r = await runJit(['broker', '--port', 'abc', '--cycle-pause-ms', '-5']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /invalid configuration/);
    assert.match(r.stderr, /\bport\b.*(NaN|number)/);
    assert.match(r.stderr, /(cyclePauseMs|--cycle-pause-ms).*(>=\s*0|small)/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(r.stdout, /listening on/);
  });

  test('the broker starts with every option at its default (except port and endpoint file)', async () => {
    const b = await spawnJit(['broker', '--port', '0', '--endpoints', endpointsFile]);
    await b.kill();
  });

  /** Checks that `--help` of `cmd` shows, next to every option, its default and its env variable. */
  async function checkHelp(cmd: Command, noDefault: readonly string[]): Promise<string> {
    const r = await runJit([cmd.name(), '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: jit ${cmd.name()} `));
    const text = r.stdout.replace(/\s+/g, ' ');
    const options = cmd.options;
    assert.ok(options.length > 0);
    const starts = options.map((o) => {
      const i = text.indexOf(` ${o.flags} `);
      assert.ok(i >= 0, `${cmd.name()} --help lists ${o.flags}`);
      return i;
    });
    options.forEach((o, k) => {
      const end = k + 1 < starts.length ? starts[k + 1] : text.indexOf(' -h, --help ');
      const entry = text.slice(starts[k], end);
      if (o.envVar) assert.ok(entry.includes(`env: ${o.envVar}`), `${o.flags}: env in "${entry}"`);
      else assert.fail(`${cmd.name()} ${o.flags} has no env variable`);
      if (o.defaultValue !== undefined) {
        const d = `default: ${JSON.stringify(o.defaultValue)}`;
        assert.ok(entry.includes(d), `${o.flags}: "${d}" in "${entry}"`);
      } else if (!noDefault.includes(o.long ?? '')) {
        assert.match(entry, /default/, `${o.flags} names its default`);
      }
    });
    return text;
  }

  test('jit broker --help lists every option with its default and env variable', async () => {
    const text = await checkHelp(brokerCommand(), []);
    assert.ok(text.includes('--port <port> port to listen on'));
    assert.match(text, /--port <port> [^-]*default: "5000", env: JIT_BROKER_PORT/);
  });

  test('jit worker --help lists every option with its default and env variable', async () => {
    const text = await checkHelp(workerCommand(), []);
    assert.match(text, /--port <port> [^-]*default: "7000", env: JIT_WORKER_PORT/);
  });

  test('jit demo --help works', async () => {
    const text = await checkHelp(demoCommand(), []);
    assert.match(text, /--port <port> [^-]*default: "5000"/);
  });
});
