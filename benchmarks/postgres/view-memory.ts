// Where a PostgreSQL-backed broker's memory goes: started fresh on a filled database, it loads its
// view; the heap is then measured with every view text built, then without history, then without records.
// Run by run.ts as its own process (node --expose-gc): the figures are this broker's alone.
// Usage: node --expose-gc --import tsx benchmarks/postgres/view-memory.ts <postgres-url> <endpoints-file>
import { readFileSync } from 'node:fs';
import { brokerConfig } from '../../src/broker/config.ts';
import { startBroker } from '../../src/broker/run.ts';

const [url, endpointsFile] = process.argv.slice(2);
if (!url || !endpointsFile) throw new Error('usage: view-memory.ts <postgres-url> <endpoints-file>');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const mb = (bytes: number) => Math.round(bytes / 1048576);
/** Heap and RSS after a full collection (twice: weak maps are cleared in the second). */
const settle = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed) };
};
/** The largest RSS this process had (the kernel's high-water mark), MB. */
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
const loadMs = performance.now() - t0;
const loaded = settle();
const peakAfterLoad = peakRssMb();
// Every view text built, as one `GET /v1/endpoints` does (they stay cached per record).
const list = await fetch(`${broker.url}/v1/endpoints`);
const listBytes = (await list.arrayBuffer()).byteLength;
const texts = settle();
// How much history one endpoint's API read answers (the most recent 1000 points at most).
const first = broker.store.list()[0]?.name ?? '';
const h = (await (
  await fetch(`${broker.url}/v1/endpoints/${encodeURIComponent(first)}/history?limit=1000`)
).json()) as { points: unknown[] };
// The store's own structures, dropped one at a time (private fields, read for this measure only).
const inner = broker.store as unknown as {
  points?: Map<string, unknown>;
  records: Map<string, unknown>;
};
const viewPoints = [...(inner.points?.values() ?? [])].reduce<number>(
  (n, list) => n + (Array.isArray(list) ? list.length : 0),
  0,
);
inner.points?.clear();
const noPoints = settle();
inner.records.clear();
const noRecords = settle();
console.log(
  JSON.stringify({
    loadMs: Math.round(loadMs),
    historyAnswered: h.points.length,
    viewPoints,
    listBytes,
    start,
    loaded,
    peakAfterLoadMb: peakAfterLoad,
    withTexts: texts,
    textsMb: texts.heapUsedMb - loaded.heapUsedMb,
    pointsMb: texts.heapUsedMb - noPoints.heapUsedMb,
    recordsMb: noPoints.heapUsedMb - noRecords.heapUsedMb - (texts.heapUsedMb - loaded.heapUsedMb),
    restMb: noRecords.heapUsedMb,
  }),
);
process.exit(0);
