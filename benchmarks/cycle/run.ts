// Cycle benchmark: recomputing N endpoints × M spans from a real influxd (quantile, 2 worker
// processes) against merely fetching the same windows with the same parallelism.
// Also fetches the windows in batches (one InfluxQL query per batch, GROUP BY the tag), to see
// whether batching would move the limit.
// Usage: node --import tsx benchmarks/cycle/run.ts [--endpoints 1000] [--spans 5000] [--cycles 3] [--batch 20]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpRequest } from '../../src/core/http-client.ts';
import { createInfluxSource } from '../../src/sources/influxdb.ts';
import { quoteIdentifier, quoteString } from '../../src/sources/influxql.ts';
import { median, numberOption } from '../lib/cli.ts';
import { cpuSeconds, ROOT, startListening, stopAll } from '../lib/processes.ts';
import { spanLine, startInfluxd } from '../../test/helpers/influxd.ts';

const rest = process.argv.slice(2);
const opt = (name: string, def: number) => numberOption(rest, name, def);
const endpointCount = opt('endpoints', 1000);
const spans = opt('spans', 5000);
const cycles = opt('cycles', 3);
const batchSize = opt('batch', 20);
const lanes = 2; // two workers, one job each at a time
const dir = mkdtempSync(join(tmpdir(), 'jit-cycle-bench-'));

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
  /** Runs `work` on every unit, `lanes` at a time; answers the wall time (ms). */
  const timedInLanes = async <T>(units: readonly T[], work: (unit: T) => Promise<unknown>) => {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < units.length) await work(units[next++] as T);
      }),
    );
    return performance.now() - started;
  };
  const fetchOnce = () =>
    timedInLanes(names, (name) => source.fetchWindow(name, { windowHours: 48, limit: 5000 }));

  // Fetch only, batched: one query per `batchSize` endpoints, one series per endpoint.
  const batchQuery = (batch: string[]) =>
    `SELECT "duration" FROM "span" WHERE time >= now() - 48h AND (` +
    batch.map((n) => `${quoteIdentifier('http.url')} = ${quoteString(n)}`).join(' OR ') +
    `) GROUP BY ${quoteIdentifier('http.url')} ORDER BY time DESC LIMIT ${spans}`;
  const fetchBatch = async (batch: string[]) => {
    // The same client as the source's per-endpoint queries (keep-alive, no compression).
    const res = await httpRequest(`${influx.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ db: 'tracing', epoch: 'ns', q: batchQuery(batch) }).toString(),
      timeoutMs: 60_000,
    });
    const body = JSON.parse(res.text) as {
      results: { series?: { values: [number, number][] }[] }[];
    };
    const series = body.results[0]?.series ?? [];
    // The same data as the per-endpoint queries, or the comparison means nothing.
    if (series.length !== batch.length || series.some((x) => x.values.length !== spans)) {
      throw new Error(`batched query answered ${series.length} series for ${batch.length} names`);
    }
    for (const x of series) x.values.map((row) => row[1] * 1e-6).reverse();
  };
  const batches = Array.from({ length: Math.ceil(names.length / batchSize) }, (_, i) =>
    names.slice(i * batchSize, (i + 1) * batchSize),
  );
  const fetchBatchedOnce = () => timedInLanes(batches, fetchBatch);

  // Full cycles: broker + 2 worker processes, quantile strategy. Cycles and fetches alternate
  // (the machine's speed drifts over minutes): after each full cycle the broker and workers are
  // stopped (SIGSTOP, during the pause between cycles), the windows are fetched both ways, and
  // they continue (SIGCONT) into the next cycle, which is measured.
  const endpointsFile = join(dir, 'endpoints.config');
  writeFileSync(endpointsFile, names.join('\n'));
  const broker = await startListening([
    join(ROOT, 'bin/jit.js'),
    'broker',
    '--port',
    '0',
    '--endpoints',
    endpointsFile,
    '--cycle-pause-ms',
    '2000',
    '--lease-ms',
    '300000',
  ]);
  const pids = [broker.pid];
  for (let i = 0; i < lanes; i++) {
    const w = await startListening([
      join(ROOT, 'bin/jit.js'),
      'worker',
      '--port',
      '0',
      '--broker',
      broker.url,
      '--source',
      'influxdb',
      '--influx-url',
      influx.url,
      '--strategy',
      'quantile',
    ]);
    pids.push(w.pid);
  }
  type Summary = {
    cycle: number;
    startedAt: string;
    done: number;
    durationMs: number;
    workersUsed: number;
  };
  let lastSeen = 0;
  const nextFullCycle = async (startedAfterMs: number): Promise<Summary> => {
    for (;;) {
      const body = (await (await fetch(`${broker.url}/v1/cycles`)).json()) as {
        cycles: Summary[];
      };
      const fresh = body.cycles.filter((c) => c.cycle > lastSeen);
      const last = fresh.at(-1);
      if (last) lastSeen = last.cycle;
      const full = fresh.find(
        (c) =>
          c.workersUsed === lanes &&
          c.done === endpointCount &&
          Date.parse(c.startedAt) >= startedAfterMs,
      );
      if (full) return full;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await nextFullCycle(0); // warm-up, not counted
  const fetchMs: number[] = [];
  const fetchBatchedMs: number[] = [];
  const cycleMs: number[] = [];
  // CPU seconds per process during the measured phases: what the machine spends per endpoint.
  const cpuOf = () => ({
    influxd: cpuSeconds(influx.pid),
    broker: cpuSeconds(broker.pid),
    workers: pids.slice(1).reduce((sum, pid) => sum + cpuSeconds(pid), 0),
    fetcher: ((u) => (u.user + u.system) / 1e6)(process.cpuUsage()),
  });
  const spent = { fetch: { influxd: 0, fetcher: 0 }, cycle: { influxd: 0, broker: 0, workers: 0 } };
  for (let i = 0; i < cycles; i++) {
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    const f0 = cpuOf();
    fetchMs.push(await fetchOnce());
    const f1 = cpuOf();
    spent.fetch.influxd += f1.influxd - f0.influxd;
    spent.fetch.fetcher += f1.fetcher - f0.fetcher;
    fetchBatchedMs.push(await fetchBatchedOnce());
    const resumed = Date.now();
    const c0 = cpuOf();
    for (const pid of pids) process.kill(pid, 'SIGCONT');
    cycleMs.push((await nextFullCycle(resumed)).durationMs);
    const c1 = cpuOf();
    spent.cycle.influxd += c1.influxd - c0.influxd;
    spent.cycle.broker += c1.broker - c0.broker;
    spent.cycle.workers += c1.workers - c0.workers;
  }
  const perEndpointMs = (x: number) => Math.round((x * 1e4) / (cycles * endpointCount)) / 10;
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
    ratioPerPair: median(cycleMs.map((c, i) => c / (fetchMs[i] as number))),
    cpuMsPerEndpoint: {
      fetchOnly: {
        influxd: perEndpointMs(spent.fetch.influxd),
        fetcher: perEndpointMs(spent.fetch.fetcher),
      },
      cycle: {
        influxd: perEndpointMs(spent.cycle.influxd),
        workers: perEndpointMs(spent.cycle.workers),
        broker: perEndpointMs(spent.cycle.broker),
      },
    },
    ratioToBatched: median(cycleMs) / median(fetchBatchedMs),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  stopAll();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
}
