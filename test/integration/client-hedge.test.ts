// Hedging end to end: spans into a real broker, a real worker (source otlp) computing the p95, the broker serving it as hedgeMs, the SDK hedging after it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { createTimeoutClient, type TimeoutClient } from 'justintimeout/client';
import { brokerConfig } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker } from '../../src/worker/run.ts';
import { startSlowServer } from '../helpers/slow-server.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-hedge-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const emptyList = join(dir, 'endpoints.config');
writeFileSync(emptyList, '# discovered endpoints only\n');

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

const NAME = 'svc GET /users/{id}';

async function brokerAndWorker(store = ':memory:'): Promise<RunningBroker> {
  const b = await startBroker(
    brokerConfig({
      host: '127.0.0.1',
      port: 0,
      otlpPort: 0,
      endpointsFile: emptyList,
      cyclePauseMs: 200,
      strategy: 'quantile',
      store,
    }),
    { logger: false },
  );
  open.push(b);
  const w = await startWorker(
    workerConfig({ port: 0, brokerUrl: b.url, source: 'otlp', heartbeatMs: 60_000 }),
    { logger: false, readinessRetryMs: 100 },
  );
  open.push(w);
  return b;
}

/** SERVER spans of `NAME` with these durations (whole ms), as OTLP/JSON, into the receiver. */
async function postSpans(b: RunningBroker, durationsMs: readonly number[]): Promise<void> {
  const t0 = BigInt(Date.now() - 60_000) * 1_000_000n;
  const doc = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [
          {
            scope: { name: 'jit-test' },
            spans: durationsMs.map((d, i) => {
              const start = t0 + BigInt(i) * 10_000_000n;
              return {
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId: (i + 1).toString(16).padStart(16, '0'),
                name: 'GET /users/{id}',
                kind: 2,
                startTimeUnixNano: String(start),
                endTimeUnixNano: String(start + BigInt(d) * 1_000_000n),
                attributes: [
                  { key: 'http.request.method', value: { stringValue: 'GET' } },
                  { key: 'http.route', value: { stringValue: '/users/{id}' } },
                ],
                status: {},
              };
            }),
          },
        ],
      },
    ],
  };
  const res = await fetch(`${b.otlpUrl ?? ''}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(doc),
  });
  assert.equal(res.status, 200, await res.text());
}

interface View {
  endpoint: string;
  timeoutMs: number;
  hedgeMs: number | null;
  status: string;
  samples: number | null;
  percentilesMs: Record<string, number> | null;
}

async function freshView(b: RunningBroker, samples: number): Promise<View> {
  return waitFor(
    async () => {
      const res = await fetch(`${b.url}/v1/timeouts/${encodeURIComponent(NAME)}`);
      const v = (await res.json()) as View;
      return res.status === 200 && v.status === 'fresh' && v.samples === samples ? v : false;
    },
    20_000,
    { message: `a fresh value for ${NAME} from ${samples} spans` },
  );
}

function client(b: RunningBroker): TimeoutClient {
  const c = createTimeoutClient({ brokerUrl: b.url, logger: null, refreshMs: 60_000, hedge: true });
  open.push(c);
  return c;
}

describe('hedge delay served by a real broker and worker, used by the SDK', () => {
  it('hedgeMs is the p95 of the window; the SDK sends its backup after it and the backup wins', async () => {
    const b = await brokerAndWorker();
    // 1…95 ms and a tail of five 2-second calls, shuffled: the p95 order statistic is 95 ms
    // exactly, and the timeout (from the tail) leaves the backup time to answer.
    const durations = Array.from({ length: 100 }, (_, i) => {
      const k = ((i * 37) % 100) + 1;
      return k <= 95 ? k : 2000;
    });
    await postSpans(b, durations);
    const view = await freshView(b, 100);
    assert.equal(view.percentilesMs?.p95, 95, 'the worker reports a p95');
    assert.equal(view.hedgeMs, 95, 'served as the hedge delay');
    assert.ok(view.timeoutMs >= 2000, `timeout ${view.timeoutMs} ms, from the tail`);
    // /v1/endpoints (what the SDK reads) says the same; /gettimeout is unchanged (text, the timeout).
    const listed = (await (await fetch(`${b.url}/v1/endpoints`)).json()) as { endpoints: View[] };
    assert.equal(listed.endpoints.find((e) => e.endpoint === NAME)?.hedgeMs, 95);
    const text = await (await fetch(`${b.url}/gettimeout?url=${encodeURIComponent(NAME)}`)).text();
    assert.equal(text, String(view.timeoutMs));

    const c = client(b);
    assert.equal(await c.ready(), true);
    assert.equal(c.hedgeFor(NAME), 95);
    const s = await startSlowServer((n) => (n === 0 ? 5000 : 5));
    open.push(s);
    const started = performance.now();
    const res = await c.fetch(NAME, `${s.url}/users/42`);
    assert.equal(await res.text(), 'answer 1', 'the backup answered first');
    const backupAfter = (s.requests[1]?.arrivedAt ?? 0) - started;
    assert.ok(backupAfter >= 95, `backup sent ${backupAfter.toFixed(1)} ms after the call`);
    const loser = await s.settled(0);
    assert.ok(loser.closedEarlyAt !== undefined, 'the original was aborted');
    assert.deepEqual(
      [c.metrics().hedgesSent, c.metrics().hedgesWon, c.metrics().budgetDenied],
      [1, 1, 0],
    );
  });

  it('hedgeMs survives a broker restart on SQLite (derived from the stored percentiles)', async () => {
    const db = join(dir, 'jit.db');
    const b = await brokerAndWorker(db);
    await postSpans(
      b,
      Array.from({ length: 200 }, (_, i) => (i % 100) + 1),
    );
    const before = await freshView(b, 200);
    assert.equal(before.hedgeMs, 95);
    for (const s of open.splice(0).reverse()) await s.close();
    const again = await startBroker(
      brokerConfig({
        host: '127.0.0.1',
        port: 0,
        endpointsFile: emptyList,
        store: db,
        cyclePauseMs: 600_000,
      }),
      { logger: false },
    );
    open.push(again);
    const res = await fetch(`${again.url}/v1/timeouts/${encodeURIComponent(NAME)}`);
    const view = (await res.json()) as View;
    assert.equal(view.hedgeMs, 95);
    assert.equal(view.timeoutMs, before.timeoutMs);
  });
});
