// The examples/ run against a real broker: the service-call example and the undici/axios adapters.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import {
  createTimeoutClient,
  EndpointTimeoutError,
  type TimeoutClient,
} from 'justintimeout/client';
import { installJitTimeouts, type AxiosConfigLike } from '../../examples/adapters/axios.ts';
import { withJitTimeouts } from '../../examples/adapters/undici.ts';
import { startCustomerService } from '../../examples/service-call/customer-service.ts';
import { startFrontend } from '../../examples/service-call/frontend.ts';
import { brokerConfig } from '../../src/broker/config.ts';
import { startBroker } from '../../src/broker/run.ts';
import { startScriptedWorker } from '../helpers/scripted-worker.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-client-examples-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

/** A broker serving `customer` = ceil(storedMs + storedMs / 10), and a warm client for it. */
async function timeoutsWith(storedMs: number): Promise<TimeoutClient> {
  const endpointsFile = join(dir, `endpoints-${storedMs}.config`);
  writeFileSync(endpointsFile, 'customer\n');
  const broker = await startBroker(
    brokerConfig({ port: 0, endpointsFile, cyclePauseMs: 600_000 }),
    {
      logger: false,
    },
  );
  open.push(broker);
  const worker = await startScriptedWorker(() => storedMs);
  open.push(worker);
  broker.registry.register(worker.url, 'v1');
  await broker.cycles.runCycle();
  const timeouts = createTimeoutClient({ brokerUrl: broker.url, logger: null });
  open.push(timeouts);
  assert.equal(await timeouts.ready(), true);
  return timeouts;
}

/** GET /slow answers after `delayMs`; anything else at once. */
async function slowServer(delayMs: number): Promise<string> {
  const server: Server = createServer((req, res) => {
    const t = setTimeout(() => res.end('done'), req.url === '/slow' ? delayMs : 0);
    res.on('close', () => clearTimeout(t));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('examples/service-call', () => {
  it('the frontend answers through the SDK, and 504 with the endpoint and ms when cut', async () => {
    const timeouts = await timeoutsWith(400); // served: ceil(400 + 40) = 440 ms
    const fast = await startCustomerService({ port: 0, medianMs: 1 });
    open.push(fast);
    const frontend = await startFrontend({ timeouts, customerUrl: fast.url, port: 0 });
    open.push(frontend);
    const ok = await fetch(`${frontend.url}/dispatch?customer=392`);
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { customer: { id: string }; timeoutMs: number };
    assert.equal(body.customer.id, '392');
    assert.equal(body.timeoutMs, 440);

    const slow = await startCustomerService({ port: 0, medianMs: 5000 });
    open.push(slow);
    const cut = await startFrontend({ timeouts, customerUrl: slow.url, port: 0 });
    open.push(cut);
    const started = Date.now();
    const res = await fetch(`${cut.url}/dispatch?customer=1`);
    assert.equal(res.status, 504);
    assert.deepEqual(await res.json(), {
      error: 'call to endpoint "customer" timed out after 440 ms',
    });
    assert.ok(Date.now() - started < 3000);
  });
});

describe('examples/adapters/undici', () => {
  /** undici's request() shape, on node:http (undici itself is not installed). */
  function nodeRequest(
    url: string | URL,
    options: { signal?: unknown } = {},
  ): Promise<{ statusCode: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { signal: options.signal as AbortSignal }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('cuts a call at the endpoint timeout with an EndpointTimeoutError', async () => {
    const timeouts = await timeoutsWith(40); // 44 ms
    const base = await slowServer(2000);
    const get = withJitTimeouts(nodeRequest, timeouts);
    assert.deepEqual(await get('customer', `${base}/fast`), { statusCode: 200, body: 'done' });
    await assert.rejects(
      get('customer', `${base}/slow`),
      (e: unknown) => e instanceof EndpointTimeoutError && e.timeoutMs === 44,
    );
  });

  it('leaves the caller’s own abort alone', async () => {
    const timeouts = await timeoutsWith(5000);
    const base = await slowServer(2000);
    const get = withJitTimeouts(nodeRequest, timeouts);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('user left')), 20);
    await assert.rejects(
      get('customer', `${base}/slow`, { signal: ctl.signal }),
      (e: unknown) => !(e instanceof EndpointTimeoutError),
    );
  });
});

describe('examples/adapters/axios', () => {
  /** Just enough of axios: interceptors, and a CanceledError when the signal aborts. */
  function fakeAxios() {
    type Config = AxiosConfigLike & { headers: Record<string, string> };
    const requestHooks: ((c: Config) => Config | Promise<Config>)[] = [];
    const rejectHooks: ((e: unknown) => unknown)[] = [];
    return {
      interceptors: {
        request: { use: (f: (c: Config) => Config | Promise<Config>) => requestHooks.push(f) - 1 },
        response: {
          use: (_ok: null, onRejected: (e: unknown) => unknown) => rejectHooks.push(onRejected) - 1,
        },
      },
      async get(url: string): Promise<{ status: number; data: string }> {
        let config: Config = { url, method: 'get', headers: {} };
        for (const hook of requestHooks) config = await hook(config);
        try {
          const signal = config.signal instanceof AbortSignal ? config.signal : null;
          const res = await fetch(url, { signal });
          return { status: res.status, data: await res.text() };
        } catch {
          // axios reports an aborted request as a CanceledError carrying the config.
          let error: unknown = Object.assign(new Error('canceled'), {
            name: 'CanceledError',
            code: 'ERR_CANCELED',
            config,
          });
          for (const hook of rejectHooks) {
            try {
              await hook(error);
            } catch (e) {
              error = e;
            }
          }
          throw error;
        }
      },
    };
  }

  it('cuts a request at the endpoint timeout and rejects with the EndpointTimeoutError', async () => {
    const timeouts = await timeoutsWith(40); // 44 ms
    const base = await slowServer(2000);
    const axios = fakeAxios();
    installJitTimeouts(axios, timeouts, {
      endpointOf: (config) => (config.url?.includes('/slow') ? 'customer' : undefined),
    });
    assert.deepEqual(await axios.get(`${base}/fast`), { status: 200, data: 'done' });
    await assert.rejects(
      axios.get(`${base}/slow`),
      (e: unknown) => e instanceof EndpointTimeoutError && e.endpoint === 'customer',
    );
  });
});
