// Where a PostgreSQL-backed broker's memory goes: started fresh on a filled database, it loads its
// view; the heap is measured with every view text built, then without history, then without records.
// Run by run.ts as its own process (node --expose-gc), so the figures are this broker's alone:
// on the compiled tree (`--dist DIR`, as an installed broker runs) or on src/ through tsx.
// Usage: node --expose-gc [--import tsx] benchmarks/postgres/view-memory.mjs <postgres-url> <endpoints-file> [dist-dir]
/* global fetch, performance */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [url, endpointsFile, dist] = process.argv.slice(2);
if (!url || !endpointsFile)
  throw new Error('usage: view-memory.mjs <postgres-url> <endpoints-file> [dist-dir]');
const gc = globalThis.gc;
if (!gc) throw new Error('run with node --expose-gc');
const from = (module) =>
  dist
    ? import(pathToFileURL(`${dist}/${module}.js`).href)
    : import(new URL(`../../src/${module}.ts`, import.meta.url).href);
const { brokerConfig } = await from('broker/config');
const { startBroker } = await from('broker/run');

const mb = (bytes) => Math.round(bytes / 1048576);
/** Heap and RSS after full collections (the second clears what weak maps held). */
const settle = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed) };
};
/** The largest RSS this process had so far (the kernel's high-water mark), MB. */
const peakRssMb = () =>
  Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024);

const start = settle();
const t0 = performance.now();
const broker = await startBroker(
  brokerConfig({
    port: 0,
    store: url,
    endpointsFile,
    cyclePauseMs: 3_600_000,
    maxEndpoints: 200_000,
  }),
  { logger: false },
);
const loadMs = Math.round(performance.now() - t0);
const loaded = settle();
const peakAfterLoadMb = peakRssMb();
// Every view text built, as one `GET /v1/endpoints` does (the most recent ones stay cached).
const listBytes = (await (await fetch(`${broker.url}/v1/endpoints`)).arrayBuffer()).byteLength;
const afterList = settle();
// How much history one endpoint's API read answers (the most recent 1000 points at most). The
// next request also lets go of what the list's answer held on to (measured: ~150 MB of heap at
// 100 000 endpoints stays reachable until then).
const first = broker.store.list()[0]?.name ?? '';
const historyAt = performance.now();
const history = await (
  await fetch(`${broker.url}/v1/endpoints/${encodeURIComponent(first)}/history?limit=1000`)
).json();
const historyMs = Math.round((performance.now() - historyAt) * 10) / 10;
const withTexts = settle();
// The store's own structures, dropped one at a time (private fields, read for this measure only).
const viewPoints = [...(broker.store.points?.values() ?? [])].reduce((n, l) => n + l.length, 0);
broker.store.points?.clear();
const noPoints = settle();
broker.store.records.clear();
const noRecords = settle();
console.log(
  JSON.stringify({
    compiled: Boolean(dist),
    loadMs,
    historyAnswered: history.points?.length ?? null,
    historyMs,
    viewPoints,
    listBytes,
    start,
    loaded,
    peakAfterLoadMb,
    afterList,
    withTexts,
    textsMb: withTexts.heapUsedMb - loaded.heapUsedMb,
    pointsMb: withTexts.heapUsedMb - noPoints.heapUsedMb,
    recordsMb:
      noPoints.heapUsedMb - noRecords.heapUsedMb - (withTexts.heapUsedMb - loaded.heapUsedMb),
    restMb: noRecords.heapUsedMb,
  }),
);
process.exit(0);
