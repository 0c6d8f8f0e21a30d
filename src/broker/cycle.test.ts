// The broker's cycle: the time it allows a worker call, how it stores a value (placeholders), how it reports the list.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import type { LatencySource } from '../sources/types.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { Computer } from '../worker/compute.ts';
import { workerConfig } from '../worker/config.ts';
import { brokerConfig } from './config.ts';
import { callTimeoutFor, CycleRunner, recordComputation } from './cycle.ts';
import { callWorker, type WorkerReply } from './worker-client.ts';
import { WorkerRegistry, type WorkerRecord } from './worker-registry.ts';

const config = brokerConfig({ callTimeoutMs: 30_000 });
const worker = (maxJobMs: number | undefined) => ({ maxJobMs }) as WorkerRecord;

describe('callTimeoutFor', () => {
  it('gives a batch of fast jobs the same allowance as one job (a hung worker is found as soon)', () => {
    assert.equal(callTimeoutFor(worker(undefined), config), 30_000);
    assert.equal(callTimeoutFor(worker(undefined), config, 8), 30_000);
  });

  it('grows with the jobs of a batch when the worker announced a job budget', () => {
    assert.equal(callTimeoutFor(worker(10_000), config), 30_000); // 10 s + 5 s < 30 s
    assert.equal(callTimeoutFor(worker(10_000), config, 8), 85_000); // 8 × 10 s + 5 s
    assert.equal(callTimeoutFor(worker(600_000), config), 605_000);
  });

  it('gives a worker of the original (GET /register) the legacy call timeout, 120 s by default', () => {
    const legacy = { maxJobMs: undefined, protocol: 'legacy' } as WorkerRecord;
    assert.equal(callTimeoutFor(legacy, config), 120_000);
    assert.equal(callTimeoutFor(legacy, brokerConfig({ legacyCallTimeoutMs: 90_000 })), 90_000);
  });
});

/** A source whose window for every endpoint is whatever the test put in `durationsMs`. */
function scriptedSource(): LatencySource & { durationsMs: number[] } {
  const src = {
    name: 'scripted',
    durationsMs: [] as number[],
    fetchWindow: () => Promise.resolve({ durationsMs: src.durationsMs, timestampsMs: undefined }),
    check: () => Promise.resolve(),
  };
  return src;
}

/** Serves `next()` as a worker's JSON reply and answers it the way the broker reads it. */
async function throughHttp(next: () => Promise<unknown>): Promise<{
  call: () => Promise<WorkerReply>;
  close: () => Promise<void>;
}> {
  const server = createServer((_req, res) => {
    void next().then((body) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const worker = { id: 'w1', url, protocol: 'v1' } as WorkerRecord;
  return {
    call: async () => {
      const job = { endpoint: 'e', alpha: 0.001, strategy: undefined, previous: undefined };
      const out = await callWorker(worker, job, 10_000);
      assert.ok(out.ok, out.ok ? '' : out.error);
      return out.reply;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('recordComputation: placeholders are not damped against', () => {
  const config = brokerConfig({});
  const at = new Date(1_800_000_000_000);
  const store = () => {
    const s = new MemoryStore();
    s.syncEndpoints([{ name: 'e', options: {} }]);
    return s;
  };
  const reply = (timeoutMs: number, extra: Partial<WorkerReply> = {}): WorkerReply => ({
    timeoutMs,
    strategy: 'x',
    method: 'x',
    samples: 0,
    meanMs: 0,
    sdMs: 0,
    percentilesMs: {},
    computeMs: 0,
    censored: 0,
    ...extra,
  });

  for (const strategy of ['seed', 'sigma']) {
    it(`stores a real 4000 ms as is after ${strategy}'s no-data answer (worker → HTTP → broker)`, async () => {
      const source = scriptedSource();
      const computer = new Computer(
        workerConfig({ strategy, strategyOptions: { seed: { filters: 2, epochs: 1 } } }),
        source,
      );
      const http = await throughHttp(() => computer.compute({ endpoint: 'e' }));
      after(async () => {
        await http.close();
        await computer.close();
      });
      const s = store();
      const empty = await http.call();
      assert.equal(empty.timeoutMs, 300); // the original's n = 0 rule: 100 + 2 · 100
      assert.equal(empty.placeholder, true);
      recordComputation(s, config, 'e', empty, 'w1', at);
      assert.equal(s.get('e')?.storedMs, 300);
      assert.equal(s.get('e')?.last?.placeholder, true);
      // 10 × 4000 ms: sigma (and seed below 50 samples) answer 4000 — far above 5 × 300.
      source.durationsMs = Array.from({ length: 10 }, () => 4000);
      const real = await http.call();
      assert.equal(real.timeoutMs, 4000);
      assert.equal(real.placeholder, undefined);
      recordComputation(s, config, 'e', real, 'w1', at);
      assert.equal(s.get('e')?.storedMs, 4000, 'not 600 (2 × the placeholder)');
      assert.equal(s.get('e')?.last?.servedMs, 4400);
      assert.equal(s.get('e')?.last?.placeholder, undefined);
    });
  }

  it('still damps against a real previous value, and after a placeholder that followed none', () => {
    const s = store();
    recordComputation(s, config, 'e', reply(300), 'w1', at);
    recordComputation(s, config, 'e', reply(4000), 'w1', at);
    assert.equal(s.get('e')?.storedMs, 600);
    recordComputation(s, config, 'e', reply(300, { placeholder: true }), 'w1', at);
    assert.equal(s.get('e')?.storedMs, 300); // a placeholder itself is a decrease: never damped
    recordComputation(s, config, 'e', reply(9000), 'w1', at);
    assert.equal(s.get('e')?.storedMs, 9000);
    recordComputation(s, config, 'e', reply(90_000), 'w1', at);
    assert.equal(s.get('e')?.storedMs, 18_000);
  });

  it('stores nothing for an endpoint that left the list while its job ran', () => {
    const s = store();
    assert.equal(recordComputation(s, config, 'gone', reply(5), 'w1', at), false);
    assert.equal(s.get('gone'), undefined);
  });
});

describe('CycleRunner and the endpoint list', () => {
  it('logs a rejected line once, not every cycle, and again after it was fixed and broken again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-cycle-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'endpoints.config');
    const warnings: string[] = [];
    const log = pino(
      { level: 'warn' },
      { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) },
    );
    const cfg = brokerConfig({ endpointsFile: file });
    const runner = new CycleRunner({
      config: cfg,
      store: new MemoryStore(),
      registry: new WorkerRegistry({
        leaseMs: cfg.leaseMs,
        legacyLeaseMs: cfg.legacyLeaseMs,
        defaultConcurrency: cfg.concurrency,
        maxWorkers: cfg.maxWorkers,
      }),
      log,
    });
    const ignored = () => warnings.filter((m) => m.startsWith('ignored line of the endpoint list'));
    writeFileSync(file, 'customer\nshipping |\n');
    await runner.runCycle();
    await runner.runCycle();
    await runner.runCycle();
    assert.equal(ignored().length, 1, warnings.join('\n'));
    writeFileSync(file, 'customer\nshipping\n');
    await runner.runCycle();
    writeFileSync(file, 'customer\nshipping |\n');
    await runner.runCycle();
    assert.equal(ignored().length, 2, warnings.join('\n'));
  });
});
