// The hot reads answered before Fastify: byte for byte the routes' own answers, and only for the cases they are sure of.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBroker, type Broker } from '../../src/broker/app.ts';
import { brokerConfig, type BrokerConfigInput } from '../../src/broker/config.ts';
import { localUrl } from '../../src/core/process.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { info } from '../../src/store/timeout-store.conformance.ts';

/** Endpoints with a value, and the value stored for each (ms). */
const COMPUTED: Record<string, number> = {
  customer: 120,
  '/api/orders/{id}': 480,
  'GET /pay with space': 75,
  'a+b': 33,
  'ünïcödé/ëndpoint': 2100,
  'x=y': 9,
  '50%off?q#frag': 61,
};
const NEVER = 'never-computed';

interface Answer {
  status: number;
  type: string | undefined;
  length: string | undefined;
  body: string;
}

/** Sends `path` exactly as written (fetch would normalise it) over a real connection. */
function get(url: string, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'],
          length: res.headers['content-length'],
          body,
        }),
      );
    });
    req.on('error', reject);
    // The path is sent as given: node:http only refuses control characters and spaces.
    req.path = path;
    req.end();
  });
}

async function start(
  dir: string,
  extra: BrokerConfigInput = {},
): Promise<{ broker: Broker; url: string; viaFastify: string[] }> {
  const names = [...Object.keys(COMPUTED), NEVER];
  const list = join(dir, `endpoints-${Math.random()}.config`);
  writeFileSync(list, `${names.join('\n')}\n`);
  const store = new MemoryStore();
  store.syncEndpoints(names.map((name) => ({ name, options: {} })));
  for (const [name, ms] of Object.entries(COMPUTED)) {
    store.recordSuccess(name, ms, info(ms), new Date());
  }
  const config = brokerConfig({
    host: '127.0.0.1',
    port: 0,
    endpointsFile: list,
    cyclePauseMs: 3_600_000,
    ...extra,
  });
  const broker = buildBroker(config, { store, logger: false });
  // Every request that reaches Fastify's routing (the hot reads never do).
  const viaFastify: string[] = [];
  broker.app.addHook('onRequest', (req, _reply, done) => {
    viaFastify.push(`${req.method} ${req.url}`);
    done();
  });
  await broker.app.listen({ host: '127.0.0.1', port: 0 });
  return { broker, url: localUrl(broker.app, '127.0.0.1'), viaFastify };
}

const enc = encodeURIComponent;

describe('hot reads (GET /gettimeout, GET /v1/timeouts/:endpoint before Fastify)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-hot-'));
  let open: Awaited<ReturnType<typeof start>>;
  before(async () => {
    open = await start(dir);
  });
  after(async () => {
    await open.broker.app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // [path, who answers: the hot path, a Fastify route (its hooks run), or Fastify's router itself
  // (a malformed or too long URL: 400/414 before any hook)]
  type Who = 'hot' | 'route' | 'bad-url';
  const cases: [string, Who][] = [
    ...Object.keys(COMPUTED).flatMap((n): [string, Who][] => [
      [`/gettimeout?url=${enc(n)}`, 'hot'],
      [`/v1/timeouts/${enc(n)}`, 'hot'],
    ]),
    ['/gettimeout?url=/api/orders/{id}', 'hot'],
    ['/gettimeout?url=customer', 'hot'],
    [`/gettimeout?url=${NEVER}`, 'hot'],
    [`/v1/timeouts/${NEVER}`, 'hot'],
    // Everything below is Fastify's to answer.
    ['/gettimeout?url=GET+/pay+with+space', 'route'],
    ['/gettimeout?url=a+b', 'route'],
    ['/gettimeout?url=no-such-endpoint', 'route'],
    ['/gettimeout?url=', 'route'],
    ['/gettimeout?url=%E0%A4%A', 'route'],
    ['/gettimeout?url=customer&url=a%2Bb', 'route'],
    ['/gettimeout?url=customer&x=1', 'route'],
    ['/gettimeout?url=customer#frag', 'route'],
    ['/gettimeout', 'route'],
    ['/gettimeout?URL=customer', 'route'],
    ['/v1/timeouts/no-such-endpoint', 'route'],
    ['/v1/timeouts/', 'route'],
    ['/v1/timeouts/customer?x=1', 'route'],
    ['/v1/timeouts/customer/', 'route'],
    ['/v1/timeouts//customer', 'route'],
    ['/v1/timeouts/%E0%A4%A', 'bad-url'],
    [`/v1/timeouts/${'x'.repeat(2100)}`, 'bad-url'],
  ];

  it('answers exactly what the Fastify route answers, for every case', async () => {
    // (inject drops a #fragment that a real request line carries: not comparable.)
    for (const [path] of cases.filter(([p]) => !p.includes('#'))) {
      const real = await get(open.url, path);
      const routed = await open.broker.app.inject({ method: 'GET', url: path });
      assert.deepEqual(
        real,
        {
          status: routed.statusCode,
          type: routed.headers['content-type'],
          length: String(routed.headers['content-length']),
          body: routed.body,
        },
        path.slice(0, 80),
      );
    }
    // The cases above cover answers of both kinds.
    const statuses = new Set<number>();
    for (const [path] of cases) statuses.add((await get(open.url, path)).status);
    for (const s of [200, 400, 422]) assert.ok(statuses.has(s), `no case answered ${s}`);
  });

  it('answers the sure cases itself and hands every other request to Fastify', async () => {
    for (const [path, who] of cases) {
      open.viaFastify.length = 0;
      await get(open.url, path);
      const hooks = who === 'route' ? 1 : 0;
      assert.equal(open.viaFastify.length, hooks, path.slice(0, 80));
    }
    open.viaFastify.length = 0;
    const head = await get(open.url, '/gettimeout?url=customer', 'HEAD');
    assert.equal(head.status, 200);
    assert.deepEqual(open.viaFastify, ['HEAD /gettimeout?url=customer']);
  });

  it('serves the value the store holds now, not one cached before a change', async () => {
    const path = `/v1/timeouts/customer`;
    const before = JSON.parse((await get(open.url, path)).body) as { storedMs: number };
    assert.equal(before.storedMs, 120);
    open.broker.store.recordFailure('customer', 'worker answered HTTP 500: boom', new Date());
    const failed = JSON.parse((await get(open.url, path)).body) as {
      storedMs: number;
      lastError: string;
    };
    assert.equal(failed.storedMs, 120);
    assert.equal(failed.lastError, 'worker answered HTTP 500: boom');
  });

  it('stays on when tokens guard only writes (reads are open then)', async () => {
    const writes = await start(dir, { adminToken: 'a'.repeat(32), workerToken: 'w'.repeat(32) });
    try {
      assert.equal((await get(writes.url, '/gettimeout?url=customer')).body, '132');
      assert.deepEqual(writes.viaFastify, []);
    } finally {
      await writes.broker.app.close();
    }
  });

  it('is off when a token guards reads: the check runs for every request', async () => {
    const guarded = await start(dir, { readToken: 'r'.repeat(32) });
    try {
      // The hot path would answer 200: a 401 is the token check's answer.
      assert.equal((await get(guarded.url, '/gettimeout?url=customer')).status, 401);
      assert.equal((await get(guarded.url, '/v1/timeouts/customer')).status, 401);
    } finally {
      await guarded.broker.app.close();
    }
  });
});
