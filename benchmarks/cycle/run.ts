// Cycle benchmark: recomputing N endpoints × M spans from a real influxd (quantile, 2 worker
// processes) against merely fetching the same windows with the same parallelism.
// Also fetches the windows in batches (one InfluxQL query per batch, GROUP BY the tag), to see
// whether batching would move the limit.
// Usage: node --import tsx benchmarks/cycle/run.ts [--endpoints 1000] [--spans 5000] [--cycles 3] [--batch 20]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInfluxSource } from '../../src/sources/influxdb.ts';
import { quoteIdentifier, quoteString } from '../../src/sources/influxql.ts';
import { startJit, stopAll } from '../lib/processes.ts';
import { spanLine, startInfluxd } from '../../test/helpers/influxd.ts';

const rest = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = rest.indexOf(`--${name}`);
  return i === -1 ? def : Number(rest[i + 1]);
};
const endpointCount = opt('endpoints', 1000);
const spans = opt('spans', 5000);
const cycles = opt('cycles', 3);
const batchSize = opt('batch', 20);
const lanes = 2; // two workers, one job each at a time
const dir = mkdtempSync(join(tmpdir(), 'jit-cycle-bench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const influx = await startInfluxd();
try {
  await influx.createDatabase('tracing');
  const names = Array.from({ length: endpointCount }, (_, i) => `/api/service-${i}/`);
  const now = BigInt(Date.now()) * 1_000_000n;
  const t0 = Date.now();
  for (const [e, name] of names.entries()) {
    const lines: string[] = [];
    for (let i = 0; i < spans; i++) {
      lines.push(
        spanLine(
          name,
          Math.round((5 + ((i * 7919 + e) % 400)) * 1e6),
          now - BigInt(i) * 500_000_000n,
        ),
      );
    }
    await influx.writeLines('tracing', lines);
  }
  process.stderr.write(
    `wrote ${endpointCount * spans} spans in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
  );

  // Fetch only: the same queries, two at a time, nothing computed.
  const source = createInfluxSource({ url: influx.url, database: 'tracing' });
  const fetchOnce = async () => {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < names.length) {
          const name = names[next++] as string;
          await source.fetchWindow(name, { windowHours: 48, limit: 5000 });
        }
      }),
    );
    return performance.now() - started;
  };
  const fetchMs: number[] = [];
  for (let i = 0; i < cycles; i++) fetchMs.push(await fetchOnce());

  // Fetch only, batched: one query per `batchSize` endpoints, one series per endpoint.
  const batchQuery = (batch: string[]) =>
    `SELECT "duration" FROM "span" WHERE time >= now() - 48h AND (` +
    batch.map((n) => `${quoteIdentifier('http.url')} = ${quoteString(n)}`).join(' OR ') +
    `) GROUP BY ${quoteIdentifier('http.url')} ORDER BY time DESC LIMIT ${spans}`;
  const fetchBatch = async (batch: string[]) => {
    const res = await fetch(`${influx.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ db: 'tracing', epoch: 'ns', q: batchQuery(batch) }).toString(),
    });
    const body = (await res.json()) as {
      results: { series?: { values: [number, number][] }[] }[];
    };
    const series = body.results[0]?.series ?? [];
    // The same data as the per-endpoint queries, or the comparison means nothing.
    if (series.length !== batch.length || series.some((x) => x.values.length !== spans)) {
      throw new Error(`batched query answered ${series.length} series for ${batch.length} names`);
    }
    for (const x of series) x.values.map((row) => row[1] * 1e-6).reverse();
  };
  const fetchBatchedOnce = async () => {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < names.length) {
          const batch = names.slice(next, next + batchSize);
          next += batchSize;
          await fetchBatch(batch);
        }
      }),
    );
    return performance.now() - started;
  };
  const fetchBatchedMs: number[] = [];
  for (let i = 0; i < cycles; i++) fetchBatchedMs.push(await fetchBatchedOnce());

  // Full cycles: broker + 2 worker processes, quantile strategy.
  const endpointsFile = join(dir, 'endpoints.config');
  writeFileSync(endpointsFile, names.join('\n'));
  const broker = await startJit([
    'broker',
    '--port',
    '0',
    '--endpoints',
    endpointsFile,
    '--cycle-pause-ms',
    '500',
  ]);
  for (let i = 0; i < lanes; i++) {
    await startJit([
      'worker',
      '--port',
      '0',
      '--broker',
      broker,
      '--source',
      'influxdb',
      '--influx-url',
      influx.url,
      '--strategy',
      'quantile',
    ]);
  }
  let summaries: { done: number; failed: number; durationMs: number; workersUsed: number }[] = [];
  for (;;) {
    const body = (await (await fetch(`${broker}/v1/cycles`)).json()) as {
      cycles: typeof summaries;
    };
    summaries = body.cycles.filter((c) => c.workersUsed === lanes && c.done === endpointCount);
    if (summaries.length >= cycles + 1) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const cycleMs = summaries.slice(1, cycles + 1).map((c) => c.durationMs); // the first one warms up
  const report = {
    machine: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    endpoints: endpointCount,
    spansPerEndpoint: spans,
    lanes,
    fetchOnlyMs: fetchMs.map(Math.round),
    cycleMs,
    batchSize,
    fetchBatchedMs: fetchBatchedMs.map(Math.round),
    medianFetchMs: Math.round(median(fetchMs)),
    medianFetchBatchedMs: Math.round(median(fetchBatchedMs)),
    medianCycleMs: median(cycleMs),
    ratio: median(cycleMs) / median(fetchMs),
    ratioToBatched: median(cycleMs) / median(fetchBatchedMs),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  stopAll();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
}
