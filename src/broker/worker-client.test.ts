// callWorker and callWorkerBatch against real HTTP servers on 127.0.0.1: the kind of every failure, the reply cap.
import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  callWorker,
  callWorkerBatch,
  REPLY_BYTES_PER_JOB,
  type CallOutcome,
} from './worker-client.ts';
import { evicts, type FailureKind } from '../protocol/failure.ts';
import type { WorkerRecord } from './worker-registry.ts';

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.closeAllConnections();
  return Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function worker(url: string, protocol: 'v1' | 'legacy' = 'v1'): WorkerRecord {
  return {
    id: 'w',
    url,
    protocol,
    concurrency: 1,
    maxBatch: 8,
    maxJobMs: undefined,
    registeredAt: 0,
    lastHeartbeatAt: 0,
    leaseMs: 1000,
    jobsDone: 0,
    jobsFailed: 0,
    inFlight: 0,
  };
}

const job = (endpoint: string) => ({ endpoint, alpha: 0.001 });

/** A worker that answers every call with this status and body. */
const answering = (status: number, body: string) =>
  serve((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });

const error = (code: string, message: string) => JSON.stringify({ error: { code, message } });

function failure(o: CallOutcome | undefined): { kind: string; error: string } {
  assert.ok(o && !o.ok, `expected a failure, got ${JSON.stringify(o)}`);
  return { kind: o.kind, error: o.error };
}

describe('callWorker: failure kinds', () => {
  for (const [label, status, body, kind, message] of [
    [
      'a source error code',
      503,
      error('SOURCE_UNAVAILABLE', 'latency source influxdb is unreachable: x'),
      'source',
      'worker answered HTTP 503: latency source influxdb is unreachable: x',
    ],
    [
      'a query refused',
      502,
      error('SOURCE_QUERY_FAILED', 'no'),
      'source',
      'worker answered HTTP 502: no',
    ],
    // A worker that sends no error body of ours: 502/503 read as the source, as they always were.
    ['a bare 503', 503, 'down', 'source', 'worker answered HTTP 503: down'],
    // Our code says it is not the source, whatever the status.
    [
      'a 503 with another code',
      503,
      error('INTERNAL', 'closing'),
      'worker-error',
      'worker answered HTTP 503: closing',
    ],
    [
      'an unknown strategy',
      422,
      error('UNKNOWN_STRATEGY', 'unknown strategy "x"'),
      'refused',
      'worker answered HTTP 422: unknown strategy "x"',
    ],
    [
      'a server error',
      500,
      error('INTERNAL', 'internal error'),
      'worker-error',
      'worker answered HTTP 500: internal error',
    ],
    ['not JSON', 200, 'fast', 'invalid-reply', 'worker reply is not JSON'],
    [
      'no timeoutMs',
      200,
      '{}',
      'invalid-reply',
      'worker reply rejected: timeoutMs: Invalid input: expected number, received undefined',
    ],
    [
      'state over 4 KiB',
      200,
      JSON.stringify({ timeoutMs: 5, state: { s: 'x'.repeat(5000) } }),
      'invalid-reply',
      'worker reply rejected: state: state larger than 4 KiB',
    ],
  ] as const) {
    it(`${label}: ${kind}`, async () => {
      const url = await answering(status, body);
      assert.deepEqual(failure(await callWorker(worker(url), job('e'), 2000)), {
        kind,
        error: message,
      });
    });
  }

  it('a refused connection: unreachable; no answer in time: timeout', async () => {
    const url = await serve(() => undefined);
    const server = servers.pop() as Server;
    await new Promise((r) => server.close(r));
    assert.deepEqual(failure(await callWorker(worker(url), job('e'), 2000)), {
      kind: 'unreachable',
      error: 'connection failed: ECONNREFUSED',
    });
    const silent = await serve(() => undefined);
    assert.deepEqual(failure(await callWorker(worker(silent), job('e'), 100)), {
      kind: 'timeout',
      error: 'no answer within 100 ms',
    });
  });

  it('accepts a reply with only timeoutMs, with the protocol defaults, and keeps no echoed field', async () => {
    const url = await answering(
      200,
      JSON.stringify({ timeoutMs: 12.5, endpoint: 'e', source: 's' }),
    );
    const o = await callWorker(worker(url), job('e'), 2000);
    assert.ok(o.ok);
    assert.deepEqual(o.reply, {
      timeoutMs: 12.5,
      strategy: 'unknown',
      method: 'unknown',
      samples: 0,
      meanMs: 0,
      sdMs: 0,
      percentilesMs: {},
      computeMs: 0,
      censored: 0,
    });
  });

  it('legacy workers: a text number, or invalid-reply', async () => {
    const good = await serve((_req, res) => res.end('221'));
    const o = await callWorker(worker(good, 'legacy'), job('e'), 2000);
    assert.ok(o.ok && o.reply.timeoutMs === 221 && o.reply.strategy === 'legacy');
    const bad = await serve((_req, res) => res.end('soon'));
    assert.equal(
      failure(await callWorker(worker(bad, 'legacy'), job('e'), 2000)).kind,
      'invalid-reply',
    );
  });
});

describe('callWorkerBatch', () => {
  it('gives each item its own kind: result, source failure, refusal, malformed failure', async () => {
    const url = await answering(
      200,
      JSON.stringify({
        results: [
          { timeoutMs: 7 },
          { status: 503, error: { code: 'SOURCE_UNAVAILABLE', message: 'down' } },
          { status: 422, error: { code: 'INSUFFICIENT_DATA', message: 'few' } },
          { status: 'x', error: 'not an error body' },
        ],
      }),
    );
    const outcomes = await callWorkerBatch(worker(url), ['a', 'b', 'c', 'd'].map(job), 2000);
    assert.ok(outcomes[0]?.ok);
    assert.deepEqual(failure(outcomes[1]), {
      kind: 'source',
      error: 'worker answered HTTP 503: down',
    });
    assert.deepEqual(failure(outcomes[2]), {
      kind: 'refused',
      error: 'worker answered HTTP 422: few',
    });
    assert.equal(failure(outcomes[3]).kind, 'invalid-reply');
  });

  it('fails every job alike when the call fails as a whole', async () => {
    const wrongCount = await answering(200, JSON.stringify({ results: [{ timeoutMs: 7 }] }));
    const outcomes = await callWorkerBatch(worker(wrongCount), [job('a'), job('b')], 2000);
    assert.deepEqual(outcomes.map(failure), [
      { kind: 'invalid-reply', error: 'worker reply rejected: expected "results" with 2 items' },
      { kind: 'invalid-reply', error: 'worker reply rejected: expected "results" with 2 items' },
    ]);
  });
});

describe('the reply cap', () => {
  /** A worker streaming an endless body; `sent()` is how much it managed to write. */
  async function flooding(): Promise<{ url: string; sent: () => number; calls: () => number }> {
    let sent = 0;
    let calls = 0;
    const url = await serve((_req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"timeoutMs":5,"method":"');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        if (res.destroyed) return;
        sent += chunk.length;
        if (res.write(chunk)) setImmediate(pump);
        else res.once('drain', pump);
      };
      pump();
    });
    return { url, sent: () => sent, calls: () => calls };
  }

  it('fails a single job at 1 MiB with invalid-reply, at once, without evicting the worker', async () => {
    const w = await flooding();
    const started = Date.now();
    const o = await callWorker(worker(w.url), job('e'), 30_000);
    assert.deepEqual(failure(o), {
      kind: 'invalid-reply',
      error: 'worker reply rejected: answer larger than the 1 MiB limit',
    });
    assert.ok(Date.now() - started < 10_000, 'long before the 30 s time-out');
    assert.equal(evicts(failure(o).kind as FailureKind), false, 'it answered: not evicted');
    assert.equal(REPLY_BYTES_PER_JOB, 1024 * 1024);
  });

  it('scales the cap with the jobs of a batch, and takes an explicit cap', async () => {
    const w = await flooding();
    const outcomes = await callWorkerBatch(worker(w.url), [job('a'), job('b'), job('c')], 30_000);
    assert.deepEqual(
      outcomes.map((o) => failure(o).error),
      Array(3).fill('worker reply rejected: answer larger than the 3 MiB limit'),
    );
    const small = await callWorker(worker(w.url), job('e'), 30_000, { maxReplyBytes: 4096 });
    assert.equal(failure(small).error, 'worker reply rejected: answer larger than the 4 KiB limit');
  });

  it('a reply just under the cap is read', async () => {
    const padding = 'x'.repeat(REPLY_BYTES_PER_JOB - 200);
    const url = await answering(200, JSON.stringify({ timeoutMs: 9, pad: padding }));
    const o = await callWorker(worker(url), job('e'), 5000);
    assert.ok(o.ok, JSON.stringify(o).slice(0, 200));
  });
});
