// Registration's retries: a broker that stays unreachable is logged once per error, not once per retry.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { freePort } from '../../test/helpers/influxd.ts';
import { Registration } from './registration.ts';

describe('Registration', () => {
  it('logs an unreachable broker once, then that it is back, then the registration', async () => {
    const port = await freePort(); // nothing listens there yet
    const lines: [string, string][] = [];
    const reg = new Registration({
      brokerUrl: `http://127.0.0.1:${port}`,
      advertiseUrl: 'http://127.0.0.1:1',
      concurrency: 1,
      maxBatch: 1,
      heartbeatMs: 60_000,
      retryInitialMs: 5,
      retryMaxMs: 10,
      log: {
        info: (_o, msg) => lines.push(['info', msg]),
        warn: (_o, msg) => lines.push(['warn', msg]),
      },
    });
    reg.start();
    await new Promise((resolve) => setTimeout(resolve, 300)); // ~20 retries
    assert.deepEqual(lines, [['warn', 'broker unreachable; will retry']]);

    const broker = createServer((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'w1', url: 'http://127.0.0.1:1', leaseMs: 30_000 }));
    });
    await new Promise<void>((resolve) => broker.listen(port, '127.0.0.1', resolve));
    try {
      const deadline = Date.now() + 3000;
      while (reg.workerId === undefined && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(reg.workerId, 'w1');
      assert.deepEqual(lines.slice(1), [
        ['info', 'registered with broker'],
        ['info', 'broker reachable again'],
      ]);
      await reg.stop();
    } finally {
      broker.closeAllConnections();
      await new Promise((resolve) => broker.close(resolve));
    }
  });
});

describe('Registration with an original broker (SPEC §2: GET /register, no v1 API)', () => {
  it('falls back to GET /register, says so once, renews, switches to v1 when it appears, unregisters', async () => {
    const seen: string[] = [];
    let v1 = false;
    const broker = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.method === 'POST' && req.url === '/v1/workers' && v1) {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'w1', url: 'http://127.0.0.1:1', leaseMs: 30_000 }));
      } else if (req.method === 'GET' && (req.url === '/register' || req.url === '/unregister')) {
        res.end('0');
      } else {
        res.writeHead(404, { 'content-type': 'text/html' }); // what Flask answers
        res.end('<h1>Not Found</h1>');
      }
    });
    await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
    const { port } = broker.address() as { port: number };
    const lines: [string, string][] = [];
    const addresses: string[] = [];
    const reg = new Registration({
      brokerUrl: `http://127.0.0.1:${port}`,
      advertiseUrl: 'http://127.0.0.1:1',
      concurrency: 1,
      maxBatch: 1,
      heartbeatMs: 60_000,
      legacyRenewMs: 40,
      onLegacy: (address) => {
        addresses.push(address);
        // The worker listens where the broker calls before GET /register tells it we exist.
        assert.ok(!seen.includes('GET /register') || addresses.length > 1);
        return Promise.resolve(`http://${address}:7000`);
      },
      log: {
        info: (_o, msg) => lines.push(['info', msg]),
        warn: (_o, msg) => lines.push(['warn', msg]),
      },
    });
    try {
      reg.start();
      await waitUntil(() => seen.filter((s) => s === 'GET /register').length >= 3);
      assert.equal(reg.mode, 'legacy');
      assert.equal(reg.workerId, undefined);
      assert.equal(addresses[0], '127.0.0.1', 'the address the broker sees');
      assert.deepEqual(seen.slice(0, 2), ['POST /v1/workers', 'GET /register']);
      assert.equal(lines.length, 1, JSON.stringify(lines));
      assert.equal(lines[0]?.[0], 'info');
      assert.match(
        lines[0]?.[1] ?? '',
        /^broker has no v1 API \(POST \/v1\/workers: HTTP 404\): registered the original's way, GET \/register, renewed every 0\.04 s; it calls GET \/computetimeout on http:\/\/127\.0\.0\.1:7000$/,
      );

      v1 = true; // the original broker was replaced by ours
      await waitUntil(() => reg.mode === 'v1');
      assert.equal(reg.workerId, 'w1');
      assert.ok(seen.includes('GET /unregister'), 'the legacy registration is withdrawn');
    } finally {
      await reg.stop();
      broker.closeAllConnections();
      await new Promise((resolve) => broker.close(resolve));
    }
    assert.equal(seen.at(-1), 'DELETE /v1/workers/w1');
  });

  it('unregisters with GET /unregister at stop while registered the original way', async () => {
    const seen: string[] = [];
    const broker = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.method === 'GET') res.end('0');
      else res.writeHead(405).end();
    });
    await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
    const { port } = broker.address() as { port: number };
    const reg = new Registration({
      brokerUrl: `http://127.0.0.1:${port}`,
      advertiseUrl: 'http://127.0.0.1:1',
      concurrency: 1,
      maxBatch: 1,
      heartbeatMs: 60_000,
      log: { info: () => {}, warn: () => {} },
    });
    try {
      reg.start();
      await waitUntil(() => reg.mode === 'legacy');
      await reg.stop();
      assert.deepEqual(seen, ['POST /v1/workers', 'GET /register', 'GET /unregister']);
      assert.equal(reg.mode, undefined);
    } finally {
      broker.closeAllConnections();
      await new Promise((resolve) => broker.close(resolve));
    }
  });
});

async function waitUntil(ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
