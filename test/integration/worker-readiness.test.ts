// A worker with a broken source is not ready, says why once, stays out of the broker's pool until its source answers (real influxd).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildBroker, type Broker } from '../../src/broker/app.ts';
import { brokerConfig } from '../../src/broker/config.ts';
import { localUrl } from '../../src/core/process.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';
import { freePort, influxdSkip, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { waitFor } from '../helpers/wait.ts';

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

const RETRY_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const notReadyLines = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => String(l.msg).startsWith('source not ready'));

async function readyz(
  w: RunningWorker,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${w.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('worker readiness', { skip: influxdSkip() }, () => {
  let influx: Influxd;
  let broker: Broker;
  let brokerUrl: string;
  before(async () => {
    influx = await startInfluxd();
    broker = buildBroker(
      brokerConfig({
        host: '127.0.0.1',
        port: 0,
        endpointsFile: '/nonexistent',
        cyclePauseMs: 3_600_000,
      }),
      { store: new MemoryStore(), logger: false },
    );
    await broker.app.listen({ host: '127.0.0.1', port: 0 });
    brokerUrl = localUrl(broker.app, '127.0.0.1');
  });
  after(async () => {
    await broker.app.close();
    await influx.stop();
  });

  const start = (sourceOptions: Record<string, unknown>, stream: Writable) =>
    startWorker(
      workerConfig({
        port: 0,
        brokerUrl,
        source: 'influxdb',
        sourceOptions: { requestTimeoutMs: 2000, ...sourceOptions },
        heartbeatMs: 60_000,
      }),
      { logger: { level: 'debug', stream }, readinessRetryMs: RETRY_MS },
    );

  it('an unknown database: not ready with the reason, said once; ready and registered once it exists', async () => {
    const { lines, stream } = capture();
    const w = await start({ url: influx.url, database: 'later' }, stream);
    try {
      await waitFor(() => w.readiness.state.reason !== 'not checked yet');
      const first = await readyz(w);
      assert.equal(first.status, 503);
      assert.equal(first.body.status, 'not-ready');
      assert.match(String(first.body.error), /has no database "later"/);
      // Several retries (and a probe) later: one line, still not registered.
      await sleep(RETRY_MS * 6);
      await readyz(w);
      assert.equal(notReadyLines(lines).length, 1, JSON.stringify(notReadyLines(lines)));
      assert.equal(notReadyLines(lines)[0]?.code, 'SOURCE_DATABASE_NOT_FOUND');
      assert.equal(broker.registry.list().length, 0, 'not registered while not ready');

      await influx.createDatabase('later');
      await waitFor(() => broker.registry.list().some((x) => x.url === w.url), 5000, {
        message: 'the worker registers once its database exists',
      });
      assert.equal((await readyz(w)).status, 200);
      assert.equal(lines.filter((l) => l.msg === 'source ready').length, 1);
      assert.equal(lines.filter((l) => l.msg === 'registered with broker').length, 1);
      assert.equal(notReadyLines(lines).length, 1, 'nothing more once ready');
    } finally {
      await w.close();
    }
  });

  it('a closed port: not ready, said once; each job fails with one line and no stack trace', async () => {
    const { lines, stream } = capture();
    const port = await freePort(); // nothing listens there
    const w = await start({ url: `http://127.0.0.1:${port}`, database: 'tracing' }, stream);
    try {
      await waitFor(() => w.readiness.state.reason !== 'not checked yet');
      const ready = await readyz(w);
      assert.equal(ready.status, 503);
      assert.match(String(ready.body.error), /unreachable: connection failed: ECONNREFUSED/);
      await sleep(RETRY_MS * 6);
      assert.equal(notReadyLines(lines).length, 1, JSON.stringify(notReadyLines(lines)));
      assert.equal(broker.registry.list().length, 0);

      // Jobs sent anyway (a broker that registered it earlier, or a direct call).
      for (const endpoint of ['customer', 'order']) {
        const res = await fetch(`${w.url}/v1/compute`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ endpoint }),
        });
        assert.equal(res.status, 503);
        assert.equal(
          ((await res.json()) as { error: { code: string } }).error.code,
          'SOURCE_UNAVAILABLE',
        );
      }
      const batch = await fetch(`${w.url}/v1/compute/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jobs: [{ endpoint: 'in-batch' }] }),
      });
      assert.equal(batch.status, 200);
      for (const endpoint of ['customer', 'order', 'in-batch']) {
        const mine = lines.filter((l) => l.endpoint === endpoint);
        assert.equal(mine.length, 1, `${endpoint}: ${JSON.stringify(mine)}`);
        assert.equal(mine[0]?.code, 'SOURCE_UNAVAILABLE');
        assert.equal(mine[0]?.err, undefined, 'no error object (and so no stack) in the line');
        assert.doesNotMatch(JSON.stringify(mine[0]), /\n\s+at /);
      }
      assert.equal(lines.filter((l) => l.err !== undefined).length, 0, 'no stack anywhere');
      assert.equal(notReadyLines(lines).length, 1, 'the same reason is not logged again');
    } finally {
      await w.close();
    }
  });

  it('an existing database is ready at once and registers', async () => {
    const { lines, stream } = capture();
    await influx.createDatabase('tracing');
    const w = await start({ url: influx.url, database: 'tracing' }, stream);
    try {
      await waitFor(() => broker.registry.list().some((x) => x.url === w.url), 5000);
      assert.equal((await readyz(w)).status, 200);
      assert.deepEqual(notReadyLines(lines), []);
    } finally {
      await w.close();
    }
  });
});
