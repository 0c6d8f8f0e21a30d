// Discovery from a worker's source (real influxd, broker and worker on port 0), and a source answering junk: values kept, one log line.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildBroker, type Broker } from '../../src/broker/app.ts';
import { brokerConfig } from '../../src/broker/config.ts';
import { localUrl } from '../../src/core/process.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';
import { influxdSkip, nowNs, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { otelLine } from '../helpers/span-lines.ts';
import { waitFor } from '../helpers/wait.ts';

const TOKEN = 'worker-token-0123456789';

/** A pino stream that keeps the parsed lines. */
function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as never);
      done();
    },
  });
  return { lines, stream };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startTestBroker(extra: Parameters<typeof brokerConfig>[0] = {}) {
  const store = new MemoryStore();
  const broker: Broker = buildBroker(
    brokerConfig({
      host: '127.0.0.1',
      port: 0,
      endpointsFile: '/nonexistent',
      workerToken: TOKEN,
      otlpPort: null,
      ...extra,
    }),
    { store, logger: false },
  );
  await broker.app.listen({ host: '127.0.0.1', port: 0 });
  return { broker, store, url: localUrl(broker.app, '127.0.0.1') };
}

describe('worker --discover with the InfluxDB source', { skip: influxdSkip() }, () => {
  let influx: Influxd;
  before(async () => {
    influx = await startInfluxd();
    await influx.createDatabase('tracing');
    const t0 = nowNs() - 60_000_000_000n;
    const names: [string, string][] = [
      ['orders', 'GET /api/orders'],
      ['orders', 'GET /healthz'],
      ['billing', 'POST /pay'],
    ];
    await influx.writeLines(
      'tracing',
      names.map(([service, name], i) =>
        otelLine({ service, name, durationNs: 5_000_000n, startNs: t0 + BigInt(i) }),
      ),
    );
  });
  after(() => influx.stop());

  it('the endpoints in the data join the broker (origin discovered), deny patterns respected', async () => {
    const { broker, store, url } = await startTestBroker({
      cyclePauseMs: 3_600_000,
      discoveryDeny: ['* GET /healthz'],
    });
    let worker: RunningWorker | undefined;
    try {
      worker = await startWorker(
        workerConfig({
          port: 0,
          brokerUrl: url,
          workerToken: TOKEN,
          source: 'influxdb',
          sourceOptions: { url: influx.url, schema: 'otel' },
          discover: true,
          discoverIntervalMs: 100,
          windowHours: 1,
          heartbeatMs: 60_000,
        }),
        { logger: false },
      );
      const names = await waitFor(() => {
        const list = store.list();
        return list.length >= 2 ? list : undefined;
      });
      assert.deepEqual(names.map((r) => [r.name, r.origin]).sort(), [
        ['billing POST /pay', 'discovered'],
        ['orders GET /api/orders', 'discovered'],
      ]);
      // A later round adds nothing new and still refuses the denied name.
      const reply = await worker.discovery?.round();
      assert.deepEqual(reply?.added, []);
      assert.equal(reply?.admitted, 2);
      assert.deepEqual(reply?.refused, [
        { name: 'orders GET /healthz', reason: 'matches a --discovery-deny (--otlp-deny) pattern' },
      ]);
    } finally {
      await worker?.close();
      await broker.app.close();
    }
  });

  it('POST /v1/discovered: worker token required, bad bodies answered 400, bad names refused one by one', async () => {
    const { broker, store, url } = await startTestBroker({ maxEndpoints: 2 });
    try {
      const post = (body: unknown, token: string | null = TOKEN) =>
        fetch(`${url}/v1/discovered`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          },
          body: JSON.stringify(body),
        });
      assert.equal((await post({ source: 'x', names: ['a'] }, null)).status, 401);
      const bad = await post({ source: 'x', names: 'a' });
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /"code":"INVALID_BODY".*names/);
      assert.equal(store.size, 0, 'a refused report changes nothing');
      const res = await post({ source: 'x', names: ['a', 'bad\nname', 'b', 'c', 'a'] });
      assert.equal(res.status, 200);
      const reply = (await res.json()) as {
        added: string[];
        refused: { name: string; reason: string }[];
      };
      assert.deepEqual(reply.added, ['a', 'b']);
      assert.deepEqual(
        reply.refused.map((r) => r.name),
        ['bad\nname', 'c'],
      );
      assert.match(reply.refused[1]?.reason ?? '', /max-endpoints \(2\)/);
    } finally {
      await broker.app.close();
    }
  });
});

describe('a source that answers junk', () => {
  let mode: 'good' | 'junk' = 'good';
  const now = Date.now();
  const good = (q: string) =>
    JSON.stringify({
      results: [
        {
          statement_id: 0,
          series: q.startsWith('SHOW DATABASES')
            ? [{ name: 'databases', columns: ['name'], values: [['tracing']] }]
            : [
                {
                  name: 'span',
                  columns: ['time', 'duration'],
                  values: Array.from({ length: 200 }, (_, i) => [
                    (now - i * 1000) * 1e6,
                    (20 + (i % 7)) * 1e6,
                  ]),
                },
              ],
        },
      ],
    });
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (mode === 'junk') {
        res.setHeader('content-type', 'text/html');
        res.end('<html><body>502 gateway says hello</body></html>');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(good(new URLSearchParams(body).get('q') ?? '') + '\n');
    });
  });
  let sourceUrl = '';
  before(async () => (sourceUrl = await listen(server)));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('keeps the stored value, makes the worker not ready, says so in one line and one line again when it recovers', async () => {
    const { broker, store, url } = await startTestBroker({ cyclePauseMs: 100 });
    store.syncEndpoints([{ name: 'orders', options: {} }]);
    const { lines, stream } = capture();
    const worker = await startWorker(
      workerConfig({
        port: 0,
        brokerUrl: url,
        workerToken: TOKEN,
        source: 'influxdb',
        strategy: 'sigma',
        sourceOptions: { url: sourceUrl, requestTimeoutMs: 2000 },
        heartbeatMs: 60_000,
      }),
      { logger: { level: 'debug', stream }, readinessRetryMs: 100 },
    );
    const notReady = () => lines.filter((l) => String(l.msg).startsWith('source not ready'));
    const ready = () => lines.filter((l) => l.msg === 'source ready');
    try {
      const fresh = await waitFor(() => {
        const r = store.get('orders');
        return r?.status === 'fresh' ? r : undefined;
      });
      mode = 'junk';
      const failedAt = Date.now();
      const stale = await waitFor(() => {
        const r = store.get('orders');
        return r?.status === 'stale' && Date.parse(r.attemptedAt ?? '') > failedAt ? r : undefined;
      });
      assert.equal(stale.storedMs, fresh.storedMs, 'the stored value is kept');
      assert.match(stale.lastError ?? '', /rejected the query: HTTP 200: <html>/);
      const readyz = await fetch(`${worker.url}/readyz`);
      assert.equal(readyz.status, 503);
      assert.match(await readyz.text(), /"status":"not-ready".*rejected the query/);
      // More cycles fail (every 100 ms) and the checks retry: still one line.
      const attempts = (store.history('orders') ?? []).length;
      await waitFor(() => store.history('orders').length >= attempts + 5);
      assert.equal(notReady().length, 1, JSON.stringify(notReady()));
      assert.equal(notReady()[0]?.level, 40);
      assert.equal(lines.filter((l) => l.level === 50).length, 0, 'no error lines (stack traces)');
      assert.equal(store.get('orders')?.storedMs, fresh.storedMs);
      mode = 'good';
      await waitFor(() => ready().length === 2);
      await waitFor(() => store.get('orders')?.status === 'fresh');
      assert.equal(notReady().length, 1);
      assert.equal((await fetch(`${worker.url}/readyz`)).status, 200);
    } finally {
      await worker.close();
      await broker.app.close();
    }
  });
});
