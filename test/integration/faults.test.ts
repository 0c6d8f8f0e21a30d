// Faults with real processes: InfluxDB frozen and back, broker restarted on its store, store locked.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { brokerConfig } from '../../src/broker/config.ts';
import { startBroker } from '../../src/broker/run.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker } from '../../src/worker/run.ts';
import { influxdSkip, spanLine, startInfluxd } from '../helpers/influxd.ts';
import { killAll, runJit, spawnJit } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-faults-'));
after(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

interface View {
  endpoint: string;
  status: string;
  storedMs: number | null;
  timeoutMs: number;
  computedAt: string | null;
}
async function endpoints(url: string): Promise<Map<string, View>> {
  const body = (await (await fetch(`${url}/v1/endpoints`)).json()) as { endpoints: View[] };
  return new Map(body.endpoints.map((e) => [e.endpoint, e]));
}
async function served(url: string, e: string): Promise<string> {
  return (await fetch(`${url}/gettimeout?url=${encodeURIComponent(e)}`)).text();
}

describe('InfluxDB frozen mid-run, then back', { skip: influxdSkip() }, () => {
  it('keeps serving the last values (stale), workers report the source error, fresh again within a cycle', async () => {
    const influx = await startInfluxd();
    // Spans first: a cycle on an empty window would serve the no-data rule, not these values.
    const now = BigInt(Date.now()) * 1_000_000n;
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) {
      lines.push(spanLine('/customer', (10 + (i % 10)) * 1e6, now - BigInt(i) * 1_000_000_000n));
      lines.push(spanLine('/order', (50 + (i % 20)) * 1e6, now - BigInt(i) * 1_000_000_000n));
    }
    try {
      await influx.createDatabase('tracing');
      await influx.writeLines('tracing', lines);
    } catch (err) {
      await influx.stop();
      throw err;
    }
    const endpointsFile = join(dir, 'influx.config');
    writeFileSync(endpointsFile, 'customer\norder\n');
    const broker = await startBroker(
      brokerConfig({ port: 0, endpointsFile, cyclePauseMs: 300, callTimeoutMs: 5000 }),
      { logger: false },
    );
    const workers = await Promise.all(
      [0, 1].map(() =>
        startWorker(
          workerConfig({
            port: 0,
            brokerUrl: broker.url,
            source: 'influxdb',
            strategy: 'sigma',
            heartbeatMs: 300,
            sourceOptions: { url: influx.url, database: 'tracing', requestTimeoutMs: 500 },
          }),
          { logger: false },
        ),
      ),
    );
    try {
      const before = await waitFor(async () => {
        const v = await endpoints(broker.url);
        return [...v.values()].every((e) => e.status === 'fresh') && v.size === 2 ? v : undefined;
      }, 15_000);
      const servedBefore = await served(broker.url, 'customer');

      process.kill(influx.pid, 'SIGSTOP'); // frozen: connections hang, queries time out
      try {
        const errorReply = await fetch(`${workers[0]?.url}/v1/compute`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"endpoint":"customer"}',
        });
        assert.equal(errorReply.status, 503);
        assert.match(await errorReply.text(), /SOURCE_UNAVAILABLE.*no answer within \d+ ms/);
        const stale = await waitFor(async () => {
          const v = await endpoints(broker.url);
          return [...v.values()].every((e) => e.status === 'stale') ? v : undefined;
        }, 15_000);
        for (const [name, e] of stale) assert.equal(e.storedMs, before.get(name)?.storedMs);
        assert.equal(await served(broker.url, 'customer'), servedBefore);
        assert.equal(broker.registry.size, 2, 'workers that answer an error are not evicted');
      } finally {
        process.kill(influx.pid, 'SIGCONT');
      }
      const resumed = Date.now();
      await waitFor(async () => {
        const v = await endpoints(broker.url);
        return [...v.values()].every(
          (e) => e.status === 'fresh' && Date.parse(e.computedAt ?? '') > resumed,
        );
      }, 10_000);
      assert.equal(await served(broker.url, 'customer'), servedBefore);
    } finally {
      for (const w of workers) await w.close();
      await broker.close();
      await influx.stop();
    }
  });
});

describe('broker restarted on its store', () => {
  const names = ['customer', 'order', 'route'];

  it('serves every value it had at once, before any cycle, and the workers come back on their own', async () => {
    const store = join(dir, 'restart.db');
    const endpointsFile = join(dir, 'restart.config');
    writeFileSync(endpointsFile, names.join('\n'));
    const args = [
      'broker',
      '--port',
      '0',
      '--endpoints',
      endpointsFile,
      '--store',
      store,
      '--cycle-pause-ms',
      '300',
    ];
    const first = await spawnJit(args);
    const port = new URL(first.url).port;
    const worker = await spawnJit([
      'worker',
      '--port',
      '0',
      '--broker',
      first.url,
      '--source',
      'seed-sample',
      '--strategy',
      'quantile',
      '--heartbeat-ms',
      '300',
    ]);
    const before = await waitFor(async () => {
      const v = await endpoints(first.url);
      return names.every((n) => v.get(n)?.status === 'fresh') ? v : undefined;
    }, 15_000);
    const servedBefore = await Promise.all(names.map((n) => served(first.url, n)));
    await first.kill('SIGKILL'); // a crash, not a clean shutdown

    // Same port, so the worker's heartbeats reach the new broker; a long pause: one cycle at most.
    const second = await spawnJit([
      'broker',
      '--port',
      port,
      '--endpoints',
      endpointsFile,
      '--store',
      store,
      '--cycle-pause-ms',
      '600000',
    ]);
    const atOnce = await Promise.all(names.map((n) => served(second.url, n)));
    assert.deepEqual(atOnce, servedBefore);
    const after = await endpoints(second.url);
    for (const n of names) assert.equal(after.get(n)?.storedMs, before.get(n)?.storedMs, n);
    await waitFor(async () => {
      const body = (await (await fetch(`${second.url}/v1/workers`)).json()) as {
        workers: { url: string }[];
      };
      return body.workers.some((w) => w.url === worker.url);
    }, 10_000);
    assert.deepEqual(await Promise.all(names.map((n) => served(second.url, n))), servedBefore);
    await worker.kill();
    await second.kill();
  });

  it('a store another broker holds is a clear error at start-up', async () => {
    const store = join(dir, 'locked.db');
    const endpointsFile = join(dir, 'locked.config');
    writeFileSync(endpointsFile, 'e\n');
    const holder = await spawnJit([
      'broker',
      '--port',
      '0',
      '--endpoints',
      endpointsFile,
      '--store',
      store,
    ]);
    const second = await runJit([
      'broker',
      '--port',
      '0',
      '--endpoints',
      endpointsFile,
      '--store',
      store,
    ]);
    assert.equal(second.code, 2);
    assert.match(
      second.stderr,
      /cannot use the store .*locked\.db: it is locked by another process/,
    );
    await holder.kill();
  });
});
