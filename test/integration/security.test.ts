// Tokens, admin routes, limits and reply validation on a real broker over HTTP.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, afterEach, describe, it } from 'node:test';
import { brokerConfig, type BrokerConfigInput } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker } from '../../src/worker/run.ts';
import { startScriptedWorker } from '../helpers/scripted-worker.ts';
import { waitFor } from '../helpers/wait.ts';

const WORKER = 'worker-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';

const dir = mkdtempSync(join(tmpdir(), 'jit-security-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

let logs = '';
const logStream = new Writable({
  write(chunk: Buffer, _enc, done) {
    logs += chunk.toString();
    done();
  },
});

let n = 0;
async function broker(names: string[], extra: BrokerConfigInput = {}): Promise<RunningBroker> {
  const endpointsFile = join(dir, `endpoints-${n++}.config`);
  writeFileSync(endpointsFile, names.join('\n'));
  const b = await startBroker(
    brokerConfig({ port: 0, endpointsFile, cyclePauseMs: 600_000, ...extra }),
    {
      logger: { level: 'info', stream: logStream },
    },
  );
  open.push(b);
  return b;
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
async function call(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return {
    status: res.status,
    body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text },
  };
}
const json = (
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

describe('tokens', () => {
  it('worker routes need the worker token; the original GET /register is off with one', async () => {
    // No endpoints: a registration kicks a cycle, which would evict the unreachable fake worker.
    const b = await broker([], { workerToken: WORKER });
    const reg = { url: 'http://127.0.0.1:9' };
    assert.equal((await call(`${b.url}/v1/workers`, json('POST', reg))).status, 401);
    const wrong = await call(`${b.url}/v1/workers`, json('POST', reg, bearer(`${WORKER}x`)));
    assert.equal(wrong.status, 401);
    assert.equal((wrong.body.error as { code: string }).code, 'UNAUTHORIZED');
    const ok = await call(`${b.url}/v1/workers`, json('POST', reg, bearer(WORKER)));
    assert.equal(ok.status, 201);
    const id = ok.body.id as string;
    assert.equal(
      (await call(`${b.url}/v1/workers/${id}/heartbeat`, { method: 'PUT' })).status,
      401,
    );
    assert.equal(
      (
        await call(`${b.url}/v1/workers/${id}/heartbeat`, {
          method: 'PUT',
          headers: bearer(WORKER),
        })
      ).status,
      200,
    );
    assert.equal((await call(`${b.url}/v1/workers/${id}`, { method: 'DELETE' })).status, 401);
    const legacy = await call(`${b.url}/register`);
    assert.equal(legacy.status, 403);
    assert.equal((legacy.body.error as { code: string }).code, 'FORBIDDEN');
    assert.equal(b.registry.size, 1);
    assert.equal((await call(`${b.url}/healthz`)).status, 200, 'health stays open');
  });

  it('a worker with the token registers and computes; one without it cannot', async () => {
    const b = await broker(['customer'], { workerToken: WORKER });
    const good = await startWorker(
      workerConfig({
        port: 0,
        brokerUrl: b.url,
        source: 'seed-sample',
        strategy: 'sigma',
        workerToken: WORKER,
        heartbeatMs: 200,
      }),
      { logger: false },
    );
    open.push(good);
    const bad = await startWorker(
      workerConfig({
        port: 0,
        brokerUrl: b.url,
        source: 'seed-sample',
        workerToken: 'not-the-token-at-all',
        heartbeatMs: 200,
      }),
      { logger: false },
    );
    open.push(bad);
    await waitFor(() => b.registry.size === 1 && b.store.get('customer')?.status === 'fresh', 5000);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      b.registry.list().map((w) => w.url),
      [good.url],
    );
  });

  it('reads need the read (or admin) token when one is set', async () => {
    const b = await broker(['e'], { readToken: READ, adminToken: ADMIN });
    for (const path of [
      '/gettimeout?url=e',
      '/getendpoints',
      '/v1/endpoints',
      '/v1/timeouts/e',
      '/v1/workers',
      '/v1/cycles',
    ]) {
      assert.equal((await call(b.url + path)).status, 401, path);
      assert.equal((await call(b.url + path, { headers: bearer(READ) })).status, 200, path);
      assert.equal((await call(b.url + path, { headers: bearer(ADMIN) })).status, 200, path);
    }
    assert.equal((await call(`${b.url}/readyz`)).status, 200);
  });

  it('never writes a token into the logs', async () => {
    logs = '';
    const b = await broker(['e'], { workerToken: WORKER, adminToken: ADMIN, readToken: READ });
    await call(`${b.url}/v1/workers`, json('POST', { url: 'http://127.0.0.1:9' }, bearer(WORKER)));
    await call(
      `${b.url}/v1/workers`,
      json('POST', { url: 'http://127.0.0.1:8' }, bearer('guess-guess-guess-guess')),
    );
    await call(`${b.url}/v1/endpoints/x`, json('PUT', {}, bearer(ADMIN)));
    await call(`${b.url}/v1/timeouts/e`, { headers: bearer(READ) });
    await b.close();
    assert.ok(logs.length > 0);
    for (const t of [WORKER, ADMIN, READ, 'guess-guess-guess-guess'])
      assert.ok(!logs.includes(t), `log contains ${t}`);
  });

  it('refuses tokens too short to be secrets', () => {
    assert.throws(() => brokerConfig({ workerToken: 'short' }), /at least 16 characters/);
  });
});

describe('admin API', () => {
  it('adds, updates and removes endpoints; they survive list re-reads and get computed', async () => {
    const b = await broker(['file-one'], { adminToken: ADMIN });
    const w = await startScriptedWorker(() => 30);
    open.push(w);
    b.registry.register(w.url, 'v1');
    assert.equal(
      (await call(`${b.url}/v1/endpoints/api-one`, json('PUT', { alpha: 0.01 }))).status,
      401,
    );
    const added = await call(
      `${b.url}/v1/endpoints/api-one`,
      json('PUT', { alpha: 0.01, maxMs: 20 }, bearer(ADMIN)),
    );
    assert.equal(added.status, 201);
    assert.equal(added.body.endpoint, 'api-one');
    const updated = await call(
      `${b.url}/v1/endpoints/api-one`,
      json('PUT', { alpha: 0.02, maxMs: 20 }, bearer(ADMIN)),
    );
    assert.equal(updated.status, 200);
    // The first call may join the start-up cycle, begun before the PUTs; the second is a new one.
    await b.cycles.runCycle();
    await b.cycles.runCycle();
    assert.deepEqual(
      b.store
        .list()
        .map((r) => [r.name, r.status])
        .sort(),
      [
        ['api-one', 'fresh'],
        ['file-one', 'fresh'],
      ],
    );
    assert.equal((await call(`${b.url}/gettimeout?url=api-one`)).body.text, '20'); // clamped by its maxMs
    // The start-up cycle may already have computed it with the first settings; the last job has the new ones.
    assert.deepEqual(w.bodies.findLast((x) => x.endpoint === 'api-one')?.alpha, 0.02);
    assert.equal(
      (await call(`${b.url}/v1/endpoints/api-one`, { method: 'DELETE', headers: bearer(ADMIN) }))
        .status,
      204,
    );
    assert.equal(
      (await call(`${b.url}/v1/endpoints/api-one`, { method: 'DELETE', headers: bearer(ADMIN) }))
        .status,
      422,
    );
    assert.equal(b.store.get('api-one'), undefined);
  });

  it('rejects bad settings and names with a 4xx naming the problem, changing nothing', async () => {
    const b = await broker(['e']);
    const cases: [string, unknown, number, string][] = [
      ['x', { alpha: 2 }, 400, 'INVALID_BODY'],
      ['x', { minMs: 100, maxMs: 10 }, 400, 'INVALID_BODY'],
      ['x', { strategy: 'no spaces allowed' }, 400, 'INVALID_BODY'],
      ['x', { extra: 1 }, 400, 'INVALID_BODY'],
      [encodeURIComponent('bad\u0001name'), {}, 400, 'INVALID_ENDPOINT_NAME'],
      ['x'.repeat(600), {}, 400, 'INVALID_ENDPOINT_NAME'],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await call(`${b.url}/v1/endpoints/${name}`, json('PUT', body));
      assert.equal(r.status, status, `${name.slice(0, 20)} ${JSON.stringify(body)}`);
      assert.equal((r.body.error as { code: string }).code, code);
    }
    assert.deepEqual(
      b.store.list().map((r) => r.name),
      ['e'],
    );
  });

  it('enforces the endpoint limit', async () => {
    const b = await broker(['a', 'b'], { maxEndpoints: 2 });
    await b.cycles.runCycle();
    const r = await call(`${b.url}/v1/endpoints/c`, json('PUT', {}));
    assert.equal(r.status, 409);
    assert.equal((r.body.error as { code: string }).code, 'ENDPOINT_LIMIT');
  });

  it('rate-limits registration', async () => {
    const b = await broker(['e'], { rateLimitPerMinute: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push(
        (await call(`${b.url}/v1/workers`, json('POST', { url: `http://127.0.0.1:${9000 + i}` })))
          .status,
      );
    assert.deepEqual(statuses, [201, 201, 201, 201, 201, 429, 429, 429]);
    const limited = await call(`${b.url}/v1/workers`, json('POST', { url: 'http://127.0.0.1:1' }));
    assert.equal(limited.status, 429);
    assert.equal(
      (await call(`${b.url}/gettimeout?url=e`)).status,
      200,
      'reads are not rate-limited',
    );
  });
});

describe('worker replies', () => {
  it('rejects an implausibly large value and keeps the old one', async () => {
    const b = await broker(['e'], { maxAcceptedMs: 60_000 });
    let v = 50;
    const w = await startScriptedWorker(() => v);
    open.push(w);
    b.registry.register(w.url, 'v1');
    await b.cycles.runCycle();
    v = 10_000_000;
    const s = await b.cycles.runCycle();
    assert.equal(s.failed, 1);
    assert.equal(b.store.get('e')?.storedMs, 50);
    assert.match(b.store.get('e')?.lastError ?? '', /above the accepted 60000 ms/);
  });
});
