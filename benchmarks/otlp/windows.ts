// Span windows benchmark: append throughput (512-span batches, SQLite), disk bytes per kept span after compaction, memory and RSS of full windows.
// Usage: node --expose-gc --import tsx benchmarks/otlp/windows.ts [--batches 2000] [--disk-endpoints 1000] [--mem-endpoints 10000] [--limit 5000] [--full 0|1]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WindowEntry } from '../../src/store/span-window-types.ts';
import { MemorySpanWindows } from '../../src/store/span-windows-memory.ts';
import { SqliteSpanWindows } from '../../src/store/span-windows-sqlite.ts';
import Database from 'better-sqlite3';
import { numberOption } from '../lib/cli.ts';

const rest = process.argv.slice(2);
const opt = (name: string, def: number) => numberOption(rest, name, def);
const batches = opt('batches', 2000);
const diskEndpoints = opt('disk-endpoints', 1000);
const memEndpoints = opt('mem-endpoints', 10_000);
const limit = opt('limit', 5000);
const alsoFull = opt('full', 1) === 1;
const BATCH = 512;
const NOW = Date.now();
const now = () => NOW;
const dir = mkdtempSync(join(tmpdir(), 'jit-windows-bench-'));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/**
 * Batch number `b` of a stream spread round-robin over `endpoints`: one array reused (append
 * copies what it keeps), start times rising through the last 40 h, 1 in 50 failed.
 */
function batchMaker(endpoints: number, total: number) {
  const names = Array.from(
    { length: endpoints },
    (_, i) => `svc-${i % 50} GET /api/v1/resource-${i}`,
  );
  const span = 40 * 3_600_000;
  const batch: WindowEntry[] = Array.from({ length: BATCH }, () => ({
    endpoint: '',
    startMs: 0,
    durationMs: 1,
    failed: false,
  }));
  return (b: number): WindowEntry[] => {
    for (let i = 0; i < BATCH; i++) {
      const k = b * BATCH + i;
      const e = batch[i] as WindowEntry;
      e.endpoint = names[k % endpoints] as string;
      e.startMs = NOW - span + Math.floor((k / total) * span);
      e.durationMs = 5 + ((k * 2654435761) % 100_000) / 100;
      e.failed = k % 50 === 0;
    }
    return batch;
  };
}

async function throughput(endpoints: number, synchronous: 'NORMAL' | 'FULL'): Promise<void> {
  const path = join(dir, `tp-${endpoints}-${synchronous}.db`);
  const w = new SqliteSpanWindows({ path, now, limit, synchronous, compactEveryMs: 0 });
  const make = batchMaker(endpoints, batches * BATCH);
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) await w.append(make(b));
  const appendS = Number(process.hrtime.bigint() - t0) / 1e9;
  const t1 = process.hrtime.bigint();
  await w.compact();
  const compactS = Number(process.hrtime.bigint() - t1) / 1e9;
  await w.close();
  console.log(
    `append ${endpoints} endpoints, synchronous=${synchronous}: ${batches} × ${BATCH} entries in ${appendS.toFixed(2)} s = ` +
      `${Math.round((batches * BATCH) / appendS)} entries/s; compaction afterwards ${compactS.toFixed(2)} s`,
  );
}

async function disk(): Promise<void> {
  const path = join(dir, 'disk.db');
  const w = new SqliteSpanWindows({ path, now, limit, compactEveryMs: 0 });
  const total = Math.ceil((diskEndpoints * limit) / BATCH);
  const make = batchMaker(diskEndpoints, total * BATCH);
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < total; b++) await w.append(make(b));
  const appendS = Number(process.hrtime.bigint() - t0) / 1e9;
  const logBytes = statSync(path).size + statSync(`${path}-wal`).size;
  await w.compact();
  const kept = w.stats().entries;
  await w.close(); // checkpoints the WAL into the file
  const size = statSync(path).size;
  // Pages the log used and compaction freed stay in the file, reused by the next appends.
  const raw = new Database(path, { readonly: true });
  const pages = (name: string) => raw.pragma(name, { simple: true }) as number;
  const liveBytes = (pages('page_count') - pages('freelist_count')) * pages('page_size');
  const blobBytes = (
    raw.prepare('SELECT SUM(LENGTH(data)) AS n FROM windows').get() as { n: number }
  ).n;
  raw.close();
  console.log(
    `disk after compaction: pages in use ${(liveBytes / 1e6).toFixed(1)} MB = ${(liveBytes / kept).toFixed(2)} bytes per kept duration ` +
      `(window blobs ${(blobBytes / kept).toFixed(2)} bytes per kept duration)`,
  );
  console.log(
    `disk: ${diskEndpoints} endpoints × ${limit}: ${kept} kept entries (appended at ${Math.round((total * BATCH) / appendS)} entries/s; ` +
      `before compaction file+WAL ${(logBytes / 1e6).toFixed(1)} MB); file after compaction and close ${(size / 1e6).toFixed(1)} MB = ` +
      `${(size / kept).toFixed(2)} bytes per kept duration`,
  );
  const t1 = process.hrtime.bigint();
  const again = new SqliteSpanWindows({ path, now, limit, compactEveryMs: 0 });
  const loadS = Number(process.hrtime.bigint() - t1) / 1e9;
  console.log(
    `reopen (load into memory): ${loadS.toFixed(2)} s for ${again.stats().entries} entries`,
  );
  await again.close();
}

async function memory(): Promise<void> {
  gc();
  const rss0 = process.memoryUsage().rss;
  const w = new MemorySpanWindows({ now, limit });
  const total = Math.ceil((memEndpoints * limit) / BATCH);
  const make = batchMaker(memEndpoints, total * BATCH);
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < total; b++) await w.append(make(b));
  const fillS = Number(process.hrtime.bigint() - t0) / 1e9;
  gc();
  const m = process.memoryUsage();
  const s = w.stats();
  console.log(
    `memory: ${memEndpoints} endpoints × ${limit}: ${s.entries} kept entries (memory windows filled at ${Math.round((total * BATCH) / fillS)} entries/s); ` +
      `typed arrays ${(s.arrayBytes / 1e6).toFixed(1)} MB = ${(s.arrayBytes / s.entries).toFixed(2)} bytes per kept duration; ` +
      `RSS ${(m.rss / 1e6).toFixed(0)} MB (grew ${((m.rss - rss0) / 1e6).toFixed(0)} MB = ${((m.rss - rss0) / s.entries).toFixed(2)} bytes per kept duration), ` +
      `heap used ${(m.heapUsed / 1e6).toFixed(0)} MB, array buffers ${(m.arrayBuffers / 1e6).toFixed(0)} MB`,
  );
  const e = w.endpoints()[7] ?? '';
  const t1 = process.hrtime.bigint();
  const reads = 1000;
  for (let i = 0; i < reads; i++) w.read(e, { limit, sinceMs: 0 });
  console.log(
    `read of one full window (${limit} entries): ${(Number(process.hrtime.bigint() - t1) / 1e3 / reads).toFixed(0)} µs`,
  );
}

try {
  // First, so that RSS grows from a process that has done nothing else.
  if (memEndpoints > 0) await memory();
  await throughput(100, 'NORMAL');
  await throughput(10_000, 'NORMAL');
  if (alsoFull) {
    await throughput(100, 'FULL');
    await throughput(10_000, 'FULL');
  }
  await disk();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
