// End to end against a real influxd: spans written with the line protocol, one broker and two
// workers in-process over HTTP on 127.0.0.1, timeouts served as SPEC §2 says. No mocks.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brokerConfig } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { servedTimeout } from '../../src/core/serving.ts';
import { durationsOf } from '../../src/sources/latency-source.conformance.ts';
import { createInfluxSource } from '../../src/sources/influxdb.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';
import { influxdSkip, nowNs, spanLine, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { waitFor } from '../helpers/wait.ts';

const DB = 'tracing';
const HOUR_NS = 3_600_000_000_000n;

// ---- plain arithmetic, independent of src/core/stats.ts --------------------------------------

function meanOf(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1). */
function sdOf(xs: readonly number[]): number {
  const m = meanOf(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return Math.sqrt(ss / (xs.length - 1));
}

/** mean + 2·sd, the `sigma` strategy with k = 2. */
function sigma2(xs: readonly number[]): number {
  return meanOf(xs) + 2 * sdOf(xs);
}

/** The ⌈q·n⌉-th smallest value (1-based), no interpolation; q·n rounded first (0.9·10 = 9). */
function kthSmallest(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const k = Math.ceil(Math.round(q * sorted.length * 1e9) / 1e9);
  return sorted[Math.min(sorted.length, Math.max(1, k)) - 1] as number;
}

function close(actual: number, expected: number, what: string, tol = 1e-6): void {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what}: got ${actual}, expected ${expected}`,
  );
}

/** Sorted copy for comparing multisets of durations; rounded to kill ns→ms float noise. */
function sortedRounded(xs: readonly number[]): number[] {
  return xs.map((x) => Math.round(x * 1e6) / 1e6).sort((a, b) => a - b);
}

// ---- HTTP helpers ---------------------------------------------------------------------------

interface EndpointView {
  endpoint: string;
  timeoutMs: number;
  storedMs: number | null;
  status: 'fresh' | 'stale' | 'never';
  strategy: string | null;
  samples: number | null;
  meanMs: number | null;
  sdMs: number | null;
  percentilesMs: Record<string, number> | null;
  lastError: string | null;
}

interface WorkerView {
  id: string;
  url: string;
  jobsDone: number;
  jobsFailed: number;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  assert.equal(res.status, 200, `GET ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function getText(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

async function endpoints(broker: RunningBroker): Promise<Map<string, EndpointView>> {
  const body = await getJson<{ endpoints: EndpointView[] }>(`${broker.url}/v1/endpoints`);
  return new Map(body.endpoints.map((e) => [e.endpoint, e]));
}

async function served(broker: RunningBroker, endpoint: string): Promise<string> {
  const r = await getText(`${broker.url}/gettimeout?url=${encodeURIComponent(endpoint)}`);
  assert.equal(r.status, 200, `/gettimeout?url=${endpoint} answered ${r.status}: ${r.text}`);
  return r.text;
}

async function compute(
  worker: RunningWorker,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${worker.url}/v1/compute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

// ---- a whole system: influxd, endpoints file, broker, workers --------------------------------

interface System {
  influx: Influxd;
  dir: string;
  endpointsFile: string;
  broker: RunningBroker;
  workers: RunningWorker[];
  /** Writes spans with strictly increasing timestamps inside the last hour. */
  write(spans: [tag: string, durationsMs: readonly number[]][]): Promise<void>;
  setEndpoints(names: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

/** Starts influxd, writes `spans` (before any cycle can see an empty window), then the broker and workers. */
async function startSystem(
  initialEndpoints: readonly string[],
  spans: [tag: string, durationsMs: readonly number[]][],
  workerCount = 2,
): Promise<System> {
  const closers: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    // Workers first (they unregister from the broker), then the broker, then influxd.
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'jit-e2e-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const influx = await startInfluxd();
    closers.push(() => influx.stop());
    await influx.createDatabase(DB);

    const endpointsFile = join(dir, 'endpoints.config');
    const setEndpoints = (names: readonly string[]) =>
      writeFile(endpointsFile, `# written by the test\n${names.join('\n')}\n`);
    await setEndpoints(initialEndpoints);

    let ts = nowNs() - HOUR_NS;
    const write = async (spans: [string, readonly number[]][]) => {
      const lines: string[] = [];
      for (const [tag, durations] of spans) {
        for (const ms of durations)
          lines.push(spanLine(tag, BigInt(Math.round(ms * 1e6)), (ts += 1000n)));
      }
      await influx.writeLines(DB, lines);
    };
    await write(spans);

    const broker = await startBroker(brokerConfig({ port: 0, endpointsFile, cyclePauseMs: 200 }), {
      logger: false,
    });
    closers.push(() => broker.close());
    const workers: RunningWorker[] = [];
    for (let i = 0; i < workerCount; i++) {
      const w = await startWorker(
        workerConfig({
          port: 0,
          brokerUrl: broker.url,
          source: 'influxdb',
          strategy: 'sigma',
          sourceOptions: { url: influx.url, database: DB },
          heartbeatMs: 500,
        }),
        { logger: false },
      );
      closers.push(() => w.close());
      workers.push(w);
    }
    return { influx, dir, endpointsFile, broker, workers, write, setEndpoints, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---- the data ---------------------------------------------------------------------------------

/** 60 customer spans: a body around 20–70 ms and a few slow ones. */
const CUSTOMER = Array.from(
  { length: 60 },
  (_, i) => 20 + ((i * 37) % 50) + (i % 13 === 0 ? 400 : 0),
);
/** 40 order spans, faster and tighter. */
const ORDER = Array.from({ length: 40 }, (_, i) => 3 + ((i * 7) % 11) * 0.5);
const DRIVER = [120, 80, 95, 300, 110, 105, 90, 85, 130, 99];
const ROUTE = [1, 2, 2, 3, 1.5];
/** No spans at all: the sigma strategy's n = 0 rule, mean = sd = 100 ms → 100 + 2·100. */
const EMPTY = 'nothing-recorded-here';

const BASIC: Record<string, readonly number[]> = {
  customer: CUSTOMER,
  order: ORDER,
  driver: DRIVER,
  route: ROUTE,
};

/**
 * Endpoint names full of regex and InfluxQL metacharacters. `regexDecoys` are tags an unescaped
 * regex of the name would match although they do not contain it; `otherDecoys` are near misses.
 */
const META: { name: string; regexDecoys: string[]; otherDecoys: string[] }[] = [
  {
    name: '/api/v1/a.b*c',
    regexDecoys: ['/api/v1/aXbbbc', '/api/v1/a-c'],
    otherDecoys: ['/api/v1/ab'],
  },
  { name: `it's "quoted"`, regexDecoys: [], otherDecoys: [`it's quoted`, `its "quoted"`] },
  { name: 'back\\slash', regexDecoys: ['back lash'], otherDecoys: ['backslash', 'back/slash'] },
  { name: 'x|y(z)', regexDecoys: ['xylophone', 'yz'], otherDecoys: ['x|y'] },
  { name: '.*', regexDecoys: ['anything'], otherDecoys: ['.+'] },
  { name: 'a/b', regexDecoys: [], otherDecoys: ['a_b', 'a\\b'] },
  { name: '^[ab]{2}$', regexDecoys: ['ab', 'ba'], otherDecoys: ['[ab]{2}'] },
  { name: 'a=b, c', regexDecoys: [], otherDecoys: ['a=b,c', 'a b c'] },
  { name: '50% off & more?', regexDecoys: ['50% off & mor'], otherDecoys: ['50% off'] },
];

/** An endpoint whose name ends in a backslash: served from the tags that contain it. */
const TRAILING_BACKSLASH = 'a\\';

/** Names asked about directly: each is contained in some written tag (and in no BASIC one). */
const EXTRA_NAMES = ['anything', 'ab', 'a=b,c', 'a', '.', '"', "'", '/', '\\', 'a\\', 'k\\s'];

describe('InfluxDB end to end: broker + two workers', { skip: influxdSkip() }, () => {
  let sys: System;

  before(async () => {
    sys = await startSystem([...Object.keys(BASIC), EMPTY], Object.entries(BASIC));
  });

  after(async () => {
    await sys?.stop();
  });

  it('serves mean + 2·sd of each endpoint’s spans, computed by both workers', async () => {
    const expected = new Map<string, number>(
      Object.entries(BASIC).map(([name, xs]) => [name, sigma2(xs)]),
    );
    // Sanity of the fixture: no value sits so close to a whole number after the margin that
    // float noise from ns → ms could move the ceiling.
    for (const [name, x] of expected) {
      const withMargin = x > 5 ? x + x / 10 : x + 1;
      const frac = withMargin - Math.floor(withMargin);
      assert.ok(frac > 1e-6 && frac < 1 - 1e-6, `${name}: ${withMargin} too close to an integer`);
    }
    // No spans: the n = 0 rule gives exactly 300 (no float noise), served as ceil(300 + 300 / 10)
    // = 330, as the original's Python computes it (300 * 1.1 would be 330.00000000000006 → 331).
    expected.set(EMPTY, 100 + 2 * 100);

    for (const [name, x] of expected) {
      const want = String(servedTimeout(x));
      await waitFor(async () => (await served(sys.broker, name)) === want, 15_000, {
        message: `/gettimeout?url=${name} to answer ${want}`,
      });
    }

    const views = await endpoints(sys.broker);
    for (const [name, xs] of Object.entries(BASIC)) {
      const v = views.get(name);
      assert.ok(v, `${name} listed in /v1/endpoints`);
      assert.equal(v.status, 'fresh');
      assert.equal(v.strategy, 'sigma');
      assert.equal(v.samples, xs.length);
      assert.ok(v.storedMs !== null);
      close(v.storedMs, sigma2(xs), `${name} storedMs`);
      close(v.meanMs ?? NaN, meanOf(xs), `${name} meanMs`);
      close(v.sdMs ?? NaN, sdOf(xs), `${name} sdMs`);
      assert.equal(v.timeoutMs, servedTimeout(v.storedMs));
      assert.ok(v.percentilesMs);
      close(v.percentilesMs.p50 ?? NaN, kthSmallest(xs, 0.5), `${name} p50`);
      close(v.percentilesMs.p90 ?? NaN, kthSmallest(xs, 0.9), `${name} p90`);
      close(v.percentilesMs.max ?? NaN, Math.max(...xs), `${name} max`);
    }
    const empty = views.get(EMPTY);
    assert.equal(empty?.status, 'fresh');
    assert.equal(empty?.samples, 0);
    assert.equal(empty?.storedMs, 300);
    assert.equal(await served(sys.broker, EMPTY), String(Math.ceil(300 + 300 / 10)));

    // Both workers took part (the first cycle may have run before the second registered).
    const workers = await waitFor(
      async () => {
        const body = await getJson<{ workers: WorkerView[] }>(`${sys.broker.url}/v1/workers`);
        return body.workers.length === 2 && body.workers.every((w) => w.jobsDone > 0)
          ? body.workers
          : undefined;
      },
      15_000,
      { message: 'both workers to have done jobs' },
    );
    assert.deepEqual(
      workers.map((w) => w.url).sort(),
      sys.workers.map((w) => w.url).sort(),
      'the registered URLs are the workers’ own',
    );
    assert.ok(workers.every((w) => w.jobsFailed === 0));

    const list = JSON.parse((await getText(`${sys.broker.url}/getendpoints`)).text) as string[];
    assert.deepEqual([...list].sort(), [...Object.keys(BASIC), EMPTY].sort());
  });

  it('a worker computes the quantile strategy (the 1 − α order statistic) from the same spans', async () => {
    // Windows large enough that n·α ≥ 1 well clear of rounding: inside the window's reach.
    const cases: [string, readonly number[], number][] = [
      ['customer', CUSTOMER, 0.5],
      ['customer', CUSTOMER, 0.2],
      ['customer', CUSTOMER, 0.05],
      ['order', ORDER, 0.5],
      ['order', ORDER, 0.25],
      ['order', ORDER, 0.05],
    ];
    for (const [name, xs, alpha] of cases) {
      assert.ok(xs.length * alpha >= 2, 'fixture: inside the window');
      const r = await compute(sys.workers[0] as RunningWorker, {
        endpoint: name,
        strategy: 'quantile',
        alpha,
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.strategy, 'quantile');
      assert.equal(r.body.samples, xs.length);
      const want = kthSmallest(xs, 1 - alpha);
      close(r.body.timeoutMs as number, want, `${name} q${1 - alpha}: ${JSON.stringify(r.body)}`);
    }
    // And the original's text route answers the sigma value.
    const text = await getText(
      `${(sys.workers[1] as RunningWorker).url}/computetimeout?url=customer`,
    );
    assert.equal(text.status, 200);
    close(Number(text.text), sigma2(CUSTOMER), '/computetimeout customer');
  });

  it('quantile at the edge of the window (n·α = 1) answers the order statistic it reports', async () => {
    const r = await compute(sys.workers[0] as RunningWorker, {
      endpoint: 'driver',
      strategy: 'quantile',
      alpha: 0.1,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.method, 'order-statistic');
    close(r.body.timeoutMs as number, kthSmallest(DRIVER, 0.9), 'driver q0.9');
  });

  describe('endpoint names full of regex and InfluxQL metacharacters', () => {
    /** Durations per written tag, distinct across every tag. */
    const written = new Map<string, number[]>();

    before(async () => {
      const tags = META.flatMap((m) => [m.name, ...m.regexDecoys, ...m.otherDecoys]);
      tags.forEach((tag, k) => written.set(tag, [1000 + 10 * k, 1001 + 10 * k, 1003 + 10 * k]));
      await sys.write([...written]);
      await sys.setEndpoints([
        ...Object.keys(BASIC),
        EMPTY,
        ...META.map((m) => m.name),
        TRAILING_BACKSLASH,
      ]);
    });

    /** Every written duration whose tag satisfies `match` — the truth, in plain JS. */
    const truth = (match: (tag: string) => boolean) =>
      [...written].filter(([tag]) => match(tag)).flatMap(([, d]) => d);

    it('the fixture’s decoys do not contain the names, and unescaped regexes would match them', () => {
      for (const m of META) {
        for (const d of [...m.regexDecoys, ...m.otherDecoys]) {
          assert.ok(!d.includes(m.name), `decoy ${d} must not contain ${m.name}`);
        }
        for (const d of m.regexDecoys) {
          assert.ok(new RegExp(m.name).test(d), `/${m.name}/ unescaped would match ${d}`);
        }
        // Only its own spans contain the name (no other tag in the whole database does).
        assert.deepEqual(
          truth((t) => t.includes(m.name)),
          written.get(m.name),
        );
      }
    });

    it('fetchWindow (contains) answers exactly each name’s own spans', async () => {
      const source = createInfluxSource({ url: sys.influx.url, database: DB });
      for (const m of META) {
        const got = await durationsOf(source, m.name, { windowHours: 48, limit: 5000 });
        assert.deepEqual(
          sortedRounded(got),
          sortedRounded(truth((t) => t.includes(m.name))),
          m.name,
        );
        assert.deepEqual(sortedRounded(got), sortedRounded(written.get(m.name) ?? []), m.name);
      }
      // Other names (decoys, single metacharacters, names ending in a backslash, which no tag
      // written with the line protocol can end with) find exactly the tags that contain them.
      for (const decoy of EXTRA_NAMES) {
        const got = await durationsOf(source, decoy, { windowHours: 48, limit: 5000 });
        const want = truth((t) => t.includes(decoy));
        assert.ok(want.length > 0, `fixture: some tag contains ${decoy}`);
        assert.ok(!Object.keys(BASIC).some((b) => b.includes(decoy)), `fixture: ${decoy}`);
        assert.deepEqual(sortedRounded(got), sortedRounded(want), decoy);
      }
    });

    it('fetchWindow (exact) answers only the spans whose tag equals the name', async () => {
      const source = createInfluxSource({ url: sys.influx.url, database: DB, matchMode: 'exact' });
      for (const tag of written.keys()) {
        const got = await durationsOf(source, tag, { windowHours: 48, limit: 5000 });
        assert.deepEqual(sortedRounded(got), sortedRounded(truth((t) => t === tag)), tag);
      }
      // 'ab' is inside '/api/v1/ab', which contains finds and exact does not.
      const opts = { windowHours: 48, limit: 5000 };
      assert.ok(truth((t) => t.includes('ab')).length > truth((t) => t === 'ab').length);
      assert.deepEqual(sortedRounded(await durationsOf(source, 'ab', opts)), written.get('ab'));
      assert.deepEqual(await durationsOf(source, 'anythin', opts), []);
      assert.deepEqual(await durationsOf(source, '.', opts), []);
    });

    it('through the broker each name is served from its own spans only', async () => {
      const cases = [
        ...META.map((m) => ({ name: m.name, spans: written.get(m.name) ?? [] })),
        { name: TRAILING_BACKSLASH, spans: truth((t) => t.includes(TRAILING_BACKSLASH)) },
      ];
      for (const { name, spans } of cases) {
        assert.ok(spans.length >= 2, `fixture: ${name} has spans`);
        const want = String(servedTimeout(sigma2(spans)));
        await waitFor(async () => (await served(sys.broker, name)) === want, 15_000, {
          message: `/gettimeout?url=${name} to answer ${want}`,
        });
      }
      const views = await endpoints(sys.broker);
      for (const { name, spans } of cases) {
        const v = views.get(name);
        assert.ok(v, `${name} listed`);
        assert.equal(v.status, 'fresh', name);
        assert.equal(v.samples, spans.length, name);
        close(v.meanMs ?? NaN, meanOf(spans), `${name} meanMs`);
        close(v.storedMs ?? NaN, sigma2(spans), `${name} storedMs`);
        // The single-endpoint route takes the name as a URL-encoded path segment.
        const one = await getJson<EndpointView>(
          `${sys.broker.url}/v1/timeouts/${encodeURIComponent(name)}`,
        );
        assert.equal(one.endpoint, name);
        assert.equal(one.samples, spans.length);
      }
    });

    it('a worker in exact mode computes each name from the spans equal to it', async () => {
      const exactWorker = await startWorker(
        workerConfig({
          port: 0,
          register: false,
          source: 'influxdb',
          strategy: 'sigma',
          sourceOptions: { url: sys.influx.url, database: DB, matchMode: 'exact' },
        }),
        { logger: false },
      );
      try {
        for (const tag of [...written.keys(), 'anythin']) {
          const r = await compute(exactWorker, { endpoint: tag });
          assert.equal(r.status, 200, JSON.stringify(r.body));
          const own = truth((t) => t === tag);
          assert.equal(r.body.samples, own.length, tag);
          if (own.length > 1) close(r.body.timeoutMs as number, sigma2(own), tag);
        }
      } finally {
        await exactWorker.close();
      }
    });
  });
});

describe('InfluxDB end to end: influxd stopped mid-run', { skip: influxdSkip() }, () => {
  let sys: System;

  before(async () => {
    sys = await startSystem(
      ['customer', 'order'],
      [
        ['customer', CUSTOMER],
        ['order', ORDER],
      ],
    );
  });

  after(async () => {
    await sys?.stop();
  });

  it('workers answer 503 SOURCE_UNAVAILABLE; the broker keeps the values and marks them stale', async () => {
    const fresh = await waitFor(
      async () => {
        const v = await endpoints(sys.broker);
        const c = v.get('customer');
        const o = v.get('order');
        return c?.status === 'fresh' && o?.status === 'fresh' ? { c, o } : undefined;
      },
      15_000,
      { message: 'customer and order to be fresh' },
    );
    close(fresh.c.storedMs ?? NaN, sigma2(CUSTOMER), 'customer storedMs');
    const servedBefore = await served(sys.broker, 'customer');
    assert.equal(servedBefore, String(servedTimeout(sigma2(CUSTOMER))));

    await sys.influx.stop();

    for (const w of sys.workers) {
      const r = await compute(w, { endpoint: 'customer' });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      const error = r.body.error as { code: string; message: string };
      assert.equal(error.code, 'SOURCE_UNAVAILABLE');
      assert.match(error.message, /unreachable/);
      const legacy = await getText(`${w.url}/computetimeout?url=customer`);
      assert.equal(legacy.status, 503);
      assert.equal(
        (JSON.parse(legacy.text) as { error: { code: string } }).error.code,
        'SOURCE_UNAVAILABLE',
      );
      const ready = await getText(`${w.url}/readyz`);
      assert.equal(ready.status, 503);
    }

    const stale = await waitFor(
      async () => {
        const v = await endpoints(sys.broker);
        const c = v.get('customer');
        const o = v.get('order');
        return c?.status === 'stale' && o?.status === 'stale' ? { c, o } : undefined;
      },
      15_000,
      { message: 'customer and order to be stale' },
    );
    assert.equal(stale.c.storedMs, fresh.c.storedMs, 'customer keeps its previous value');
    assert.equal(stale.o.storedMs, fresh.o.storedMs, 'order keeps its previous value');
    assert.match(stale.c.lastError ?? '', /503|unreachable/);
    assert.equal(await served(sys.broker, 'customer'), servedBefore);

    // The workers answered (with an error), so neither was evicted.
    const body = await getJson<{ workers: WorkerView[] }>(`${sys.broker.url}/v1/workers`);
    assert.equal(body.workers.length, 2);
  });
});
