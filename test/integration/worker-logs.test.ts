// What a worker logs per job over real HTTP: one line per job (debug when done, info when refused), no per-request lines.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';

const lines: Record<string, unknown>[] = [];
const stream = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as never);
    done();
  },
});
let worker: RunningWorker;

before(async () => {
  worker = await startWorker(
    workerConfig({ port: 0, register: false, source: 'seed-sample', strategy: 'quantile' }),
    { logger: { level: 'debug', stream } },
  );
});
after(() => worker.close());

const compute = (body: Record<string, unknown>) =>
  fetch(`${worker.url}/v1/compute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('worker job logs', () => {
  it('logs a done job once, at debug, with its endpoint and value', async () => {
    const res = await compute({ endpoint: 'customer' });
    assert.equal(res.status, 200);
    const { timeoutMs } = (await res.json()) as { timeoutMs: number };
    const mine = lines.filter((l) => l.endpoint === 'customer');
    assert.equal(mine.length, 1, JSON.stringify(mine));
    assert.equal(mine[0]?.level, 20);
    assert.equal(mine[0]?.msg, 'job done');
    assert.equal(mine[0]?.timeoutMs, timeoutMs);
  });

  it('logs a refused job at info with its error code', async () => {
    const res = await compute({ endpoint: 'order', strategy: 'no-such-strategy' });
    assert.equal(res.status, 422);
    const mine = lines.filter((l) => l.endpoint === 'order');
    assert.equal(mine.length, 1, JSON.stringify(mine));
    assert.equal(mine[0]?.level, 30);
    assert.equal(mine[0]?.code, 'UNKNOWN_STRATEGY');
  });

  it('writes no per-request lines (two per job cost ~7 % of a worker in a cycle)', () => {
    assert.ok(lines.length >= 3, 'the start-up line and the two job lines were captured');
    const perRequest = lines.filter((l) =>
      /incoming request|request completed/.test(String(l.msg)),
    );
    assert.deepEqual(perRequest, []);
  });
});
