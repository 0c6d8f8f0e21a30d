// Hostile and malformed input to the broker and worker: clear 4xx JSON, no crash, nothing changed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brokerConfig } from '../../src/broker/config.ts';
import { killAll, runJit, spawnJit } from '../helpers/processes.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';

let broker: RunningBroker;
let worker: RunningWorker;
const dir = mkdtempSync(join(tmpdir(), 'jit-bad-input-'));

before(async () => {
  const endpointsFile = join(dir, 'endpoints.config');
  writeFileSync(endpointsFile, 'customer\n');
  broker = await startBroker(brokerConfig({ port: 0, endpointsFile, cyclePauseMs: 600_000 }), {
    logger: false,
  });
  worker = await startWorker(
    workerConfig({
      port: 0,
      brokerUrl: broker.url,
      source: 'seed-sample',
      strategy: 'sigma',
      heartbeatMs: 60_000,
    }),
    { logger: false },
  );
  for (let i = 0; i < 300 && broker.registry.size === 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  await broker.cycles.runCycle();
  assert.equal(broker.store.get('customer')?.status, 'fresh');
});

after(async () => {
  await killAll();
  await worker.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(
  url: string,
  init: RequestInit = {},
): Promise<{
  status: number;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    assert.fail(`not JSON (HTTP ${res.status}): ${text.slice(0, 100)}`);
  }
  return { status: res.status, json };
}

const jsonInit = (method: string, body: string, type = 'application/json'): RequestInit => ({
  method,
  headers: { 'content-type': type },
  body,
});

describe('broker: bad input gets a 4xx JSON error naming the problem', () => {
  const cases: [string, string, RequestInit | undefined, number, string][] = [
    ['missing url', '/gettimeout', undefined, 400, 'MISSING_PARAMETER'],
    ['repeated url', '/gettimeout?url=a&url=b', undefined, 400, 'MISSING_PARAMETER'],
    ['unknown JSON endpoint', '/v1/timeouts/nope', undefined, 422, 'UNKNOWN_ENDPOINT'],
    ['unknown route', '/no/such/route', undefined, 404, 'NOT_FOUND'],
    [
      'malformed worker URL',
      '/v1/workers',
      jsonInit('POST', '{"url":"not a url"}'),
      400,
      'INVALID_WORKER_URL',
    ],
    [
      'worker URL with another scheme',
      '/v1/workers',
      jsonInit('POST', '{"url":"file:///etc/passwd"}'),
      400,
      'INVALID_WORKER_URL',
    ],
    ['registration without url', '/v1/workers', jsonInit('POST', '{}'), 400, 'INVALID_BODY'],
    [
      'registration with extra fields',
      '/v1/workers',
      jsonInit('POST', '{"url":"http://127.0.0.1:1","x":1}'),
      400,
      'INVALID_BODY',
    ],
    [
      'registration with bad concurrency',
      '/v1/workers',
      jsonInit('POST', '{"url":"http://127.0.0.1:1","concurrency":-1}'),
      400,
      'INVALID_BODY',
    ],
    [
      'broken JSON',
      '/v1/workers',
      jsonInit('POST', '{"url":'),
      400,
      'FST_ERR_CTP_INVALID_JSON_BODY',
    ],
    [
      'wrong media type',
      '/v1/workers',
      jsonInit('POST', 'url=x', 'application/xml'),
      415,
      'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    ],
    [
      'body too large',
      '/v1/workers',
      jsonInit('POST', JSON.stringify({ url: 'x'.repeat(200_000) })),
      413,
      'FST_ERR_CTP_BODY_TOO_LARGE',
    ],
    [
      'heartbeat of an unknown worker',
      '/v1/workers/nope/heartbeat',
      { method: 'PUT' },
      404,
      'UNKNOWN_WORKER',
    ],
    [
      'unregister of an unknown worker',
      '/v1/workers/nope',
      { method: 'DELETE' },
      404,
      'UNKNOWN_WORKER',
    ],
  ];
  for (const [label, path, init, status, code] of cases) {
    it(label, async () => {
      const r = await call(broker.url + path, init);
      assert.equal(r.status, status);
      assert.equal(r.json.error?.code, code);
      assert.ok((r.json.error?.message.length ?? 0) > 0);
    });
  }

  it('registers, heartbeats, lists and unregisters a worker over the JSON API', async () => {
    const reg = await call(
      `${broker.url}/v1/workers`,
      jsonInit('POST', '{"url":"http://127.0.0.1:9/","concurrency":2}'),
    );
    assert.equal(reg.status, 201);
    const id = reg.json.id as string;
    assert.equal(reg.json.url, 'http://127.0.0.1:9');
    assert.equal(
      (await call(`${broker.url}/v1/workers/${id}/heartbeat`, { method: 'PUT' })).status,
      200,
    );
    const list = await call(`${broker.url}/v1/workers`);
    const mine = (list.json.workers as { id: string; concurrency: number; busy: boolean }[]).find(
      (w) => w.id === id,
    );
    assert.equal(mine?.concurrency, 2);
    assert.equal(mine?.busy, false);
    const del = await fetch(`${broker.url}/v1/workers/${id}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal(broker.registry.get(id), undefined);
  });

  it('answers health and readiness', async () => {
    assert.deepEqual((await call(`${broker.url}/healthz`)).json, { status: 'ok' });
    const ready = await call(`${broker.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(ready.json.status, 'ready');
  });

  it('survives a burst of random paths, queries and bodies with no 5xx and no changed value', async () => {
    const before = broker.store.get('customer')?.storedMs;
    let seed = 42;
    const rnd = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
    const junk = () =>
      Array.from({ length: rnd(40) }, () => String.fromCharCode(33 + rnd(94))).join('');
    const paths = [
      '/gettimeout',
      '/getendpoints',
      '/v1/workers',
      '/v1/endpoints',
      '/v1/timeouts/',
      '/register',
      '/x',
    ];
    for (let i = 0; i < 300; i++) {
      const path = `${paths[rnd(paths.length)]}${encodeURIComponent(junk())}?${encodeURIComponent(junk())}=${encodeURIComponent(junk())}`;
      const method = ['GET', 'POST', 'PUT', 'DELETE'][rnd(4)] as string;
      const res = await fetch(broker.url + path, {
        method,
        ...(method === 'GET'
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: junk() }),
      });
      await res.arrayBuffer();
      assert.ok(res.status < 500, `${method} ${path} → ${res.status}`);
    }
    assert.equal(broker.store.get('customer')?.storedMs, before);
    assert.equal((await fetch(`${broker.url}/healthz`)).status, 200);
  });
});

describe('broker: huge inputs', () => {
  it('answers huge URLs, headers and bodies with a 4xx (or drops them) and keeps serving', async () => {
    const before = broker.store.get('customer')?.storedMs;
    const attempts: [string, () => Promise<Response>][] = [
      ['100 kB query string', () => fetch(`${broker.url}/gettimeout?url=${'a'.repeat(100_000)}`)],
      ['10 kB endpoint name', () => fetch(`${broker.url}/v1/timeouts/${'b'.repeat(10_000)}`)],
      [
        '20 kB header',
        () => fetch(`${broker.url}/v1/endpoints`, { headers: { 'x-junk': 'c'.repeat(20_000) } }),
      ],
      [
        '5 MB body',
        () =>
          fetch(`${broker.url}/v1/workers`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: `{"url":"${'d'.repeat(5_000_000)}"}`,
          }),
      ],
      [
        '5 MB admin body',
        () =>
          fetch(`${broker.url}/v1/endpoints/customer`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: `{"strategy":"${'e'.repeat(5_000_000)}"}`,
          }),
      ],
    ];
    for (const [label, attempt] of attempts) {
      try {
        const res = await attempt();
        await res.arrayBuffer();
        assert.ok(res.status >= 400 && res.status < 500, `${label} → ${res.status}`);
      } catch (err) {
        // Node may close the connection on an oversized header instead of answering: fine, as long
        // as the server lives on (checked below).
        assert.match(String((err as Error).cause ?? err), /socket|closed|reset|other side/i, label);
      }
    }
    assert.equal((await fetch(`${broker.url}/healthz`)).status, 200);
    assert.equal(broker.store.get('customer')?.storedMs, before);
    assert.deepEqual(broker.store.get('customer')?.options, {});
  });
});

describe('worker: bad input', () => {
  const cases: [string, string, RequestInit | undefined, number, string][] = [
    ['missing url', '/computetimeout', undefined, 400, 'MISSING_PARAMETER'],
    ['compute without endpoint', '/v1/compute', jsonInit('POST', '{}'), 400, 'INVALID_BODY'],
    [
      'alpha out of range',
      '/v1/compute',
      jsonInit('POST', '{"endpoint":"a","alpha":2}'),
      400,
      'INVALID_BODY',
    ],
    [
      'unknown strategy',
      '/v1/compute',
      jsonInit('POST', '{"endpoint":"a","strategy":"nope"}'),
      422,
      'UNKNOWN_STRATEGY',
    ],
    [
      'control characters in the name',
      '/v1/compute',
      jsonInit('POST', '{"endpoint":"a\\u0000b"}'),
      400,
      'INVALID_ENDPOINT_NAME',
    ],
    ['empty name', '/computetimeout?url=', undefined, 400, 'INVALID_ENDPOINT_NAME'],
  ];
  for (const [label, path, init, status, code] of cases) {
    it(label, async () => {
      const r = await call(worker.url + path, init);
      assert.equal(r.status, status);
      assert.equal(r.json.error?.code, code);
    });
  }

  it('answers a job with the value and the window summary', async () => {
    const r = await call(
      `${worker.url}/v1/compute`,
      jsonInit('POST', '{"endpoint":"customer","strategy":"quantile","alpha":0.01}'),
    );
    assert.equal(r.status, 200);
    assert.equal(r.json.strategy, 'quantile');
    assert.equal(r.json.samples, 522);
    assert.equal(Math.round(r.json.timeoutMs as number), 15530);
    assert.equal(Math.round((r.json.meanMs as number) + 2 * (r.json.sdMs as number)), 4442);
    assert.ok(((r.json.percentilesMs as Record<string, number>).p99 ?? 0) > 0);
    assert.ok(typeof r.json.computeMs === 'number');
  });

  it('answers the original route as text milliseconds', async () => {
    const res = await fetch(`${worker.url}/computetimeout?url=customer`);
    assert.equal(res.status, 200);
    assert.equal(Math.round(Number(await res.text())), 4442);
  });
});

describe('broker: an unknown strategy is refused where it enters', () => {
  it('PUT /v1/endpoints/:name {"strategy":"foo"} → 400 naming it and the known ones; nothing stored', async () => {
    const before = broker.store.get('customer');
    const r = await call(
      `${broker.url}/v1/endpoints/customer`,
      jsonInit('PUT', '{"strategy":"foo","alpha":0.01}'),
    );
    assert.equal(r.status, 400);
    assert.equal(r.json.error?.code, 'INVALID_STRATEGY');
    assert.equal(
      r.json.error?.message,
      'unknown strategy "foo" (known: sigma, quantile, rto, adaptive, seed)',
    );
    assert.deepEqual((r.json.error as { details?: unknown }).details, {
      strategy: 'foo',
      known: ['sigma', 'quantile', 'rto', 'adaptive', 'seed'],
    });
    assert.deepEqual(broker.store.get('customer'), before);
    const added = await call(
      `${broker.url}/v1/endpoints/added`,
      jsonInit('PUT', '{"strategy":"nope"}'),
    );
    assert.equal(added.status, 400);
    assert.equal(broker.store.get('added'), undefined, 'no endpoint was added');
  });

  it('accepts every known name, seed included', async () => {
    const r = await call(
      `${broker.url}/v1/endpoints/seeded`,
      jsonInit('PUT', '{"strategy":"seed"}'),
    );
    assert.equal(r.status, 201);
    assert.equal(
      (await fetch(`${broker.url}/v1/endpoints/seeded`, { method: 'DELETE' })).status,
      204,
    );
  });
});

describe('command line: bad configuration is refused at start, every problem at once', () => {
  const noStack = (text: string) => assert.doesNotMatch(text, /^\s+at /m, 'no stack trace');

  it('a taken port: jit broker exits 2 and says to choose another with --port', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const r = await runJit(['broker', '--port', port, '--store', ':memory:']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /^jit: cannot listen: .*EADDRINUSE.*choose another with --port/m);
      noStack(r.stderr);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('jit broker --strategy foo exits 2 with one line listing the known names', async () => {
    const r = await runJit(['broker', '--port', '0', '--strategy', 'foo']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^ {2}- --strategy \(strategy\): unknown strategy "foo" \(known: sigma, quantile, rto, adaptive, seed\)$/m,
    );
    noStack(r.stderr);
    assert.doesNotMatch(r.stdout, /listening on/);
  });

  it('jit worker: unknown strategy and URLs without a scheme, each naming its flag and the fix', async () => {
    const r = await runJit(
      [
        'worker',
        '--port',
        '0',
        '--strategy',
        'foo',
        '--influx-url',
        'localhost:18086',
        '--broker',
        'localhost:5000',
      ],
      { env: { JIT_ADVERTISE_URL: '10.1.2.3:7000' } },
    );
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const problems = r.stderr.split('\n').filter((l) => l.startsWith('  - '));
    assert.deepEqual(problems.sort(), [
      '  - --advertise-url (advertiseUrl): "10.1.2.3:7000" has no scheme: did you mean http://10.1.2.3:7000?',
      '  - --broker (brokerUrl): "localhost:5000" has no scheme: did you mean http://localhost:5000?',
      '  - --influx-url (url): "localhost:18086" has no scheme: did you mean http://localhost:18086?',
      '  - --strategy (strategy): unknown strategy "foo" (known: sigma, quantile, rto, adaptive, seed)',
    ]);
    noStack(r.stderr);
  });

  it('a switch variable that is not yes/no is a config error', async () => {
    const r = await runJit(['worker', '--port', '0'], { env: { JIT_NO_REGISTER: 'maybe' } });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /--no-register \(JIT_NO_REGISTER="maybe"\): not a yes\/no value/);
  });

  it('JIT_NO_REGISTER=0 and =false register; =1 does not', async () => {
    const b = await spawnJit(['broker', '--port', '0', '--endpoints', join(dir, 'none.config')]);
    const env = (v: string) => ({ env: { JIT_NO_REGISTER: v, JIT_BROKER_URL: b.url } });
    const alone = await spawnJit(['worker', '--port', '0'], env('1'));
    const zero = await spawnJit(['worker', '--port', '0'], env('0'));
    const no = await spawnJit(['worker', '--port', '0'], env('false'));
    let urls: string[] = [];
    for (let i = 0; i < 200 && urls.length < 2; i++) {
      const list = (await call(`${b.url}/v1/workers`)).json.workers as { url: string }[];
      urls = list.map((w) => w.url);
      if (urls.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(urls.sort(), [zero.url, no.url].sort());
    assert.doesNotMatch(alone.logs(), /registered with broker/);
    await Promise.all([alone.kill(), zero.kill(), no.kill()]);
    await b.kill();
  });

  it('JIT_BACKTEST_QUIET=0 still prints the tables; JIT_BACKTEST_CENSOR=maybe is refused', async () => {
    const input = join(dir, 'spans.csv');
    const lines = ['timestamp_ns,endpoint,duration_ns'];
    for (let i = 0; i < 400; i++) lines.push(`${1e18 + i * 1e9},e,${(5 + (i % 7)) * 1e6}`);
    writeFileSync(input, `${lines.join('\n')}\n`);
    const args = ['backtest', '--input', input, '--strategies', 'quantile'];
    const loud = await runJit(args, { env: { JIT_BACKTEST_QUIET: '0' } });
    assert.equal(loud.code, 0, loud.stderr);
    assert.match(loud.stdout, /quantile/);
    const quiet = await runJit(args, { env: { JIT_BACKTEST_QUIET: 'yes' } });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, '');
    const bad = await runJit(args, { env: { JIT_BACKTEST_CENSOR: 'maybe' } });
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /--censor \(JIT_BACKTEST_CENSOR="maybe"\): not a yes\/no value/);
  });
});
