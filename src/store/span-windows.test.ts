// Every SpanWindows through the conformance suite, then what only the SQLite windows promise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StoreSchemaTooNewError, StoreUnavailableError } from '../core/errors.ts';
import { MemorySpanWindows } from './span-windows-memory.ts';
import { SqliteSpanWindows, WINDOWS_MIGRATIONS } from './span-windows-sqlite.ts';
import { entry, spanWindowsConformance, T0 } from './span-windows.conformance.ts';
import type { WindowEntry } from './span-window-types.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-windows-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const ALL = { limit: 1_000_000, sinceMs: 0 };

spanWindowsConformance('memory', (opts) => new MemorySpanWindows(opts));
spanWindowsConformance(
  'sqlite :memory:',
  (opts) => new SqliteSpanWindows({ ...opts, path: ':memory:', compactEveryMs: 0 }),
);
spanWindowsConformance(
  'sqlite file',
  (opts) => new SqliteSpanWindows({ ...opts, path: join(dir, `c${n++}.db`), compactEveryMs: 0 }),
);

/** A mixed workload: several endpoints, late arrivals, failures, more than `limit` per endpoint. */
function workload(count: number, seed: number): WindowEntry[] {
  const out: WindowEntry[] = [];
  for (let i = 0; i < count; i++) {
    const k = (i * 2654435761 + seed) >>> 0;
    out.push(
      entry(
        `ep${k % 7}`,
        T0 - 3_600_000 + ((k >>> 3) % 3_500_000),
        1 + (k % 100_000) / 37,
        k % 11 === 0,
      ),
    );
  }
  return out;
}

function snapshot(w: SqliteSpanWindows | MemorySpanWindows) {
  return w
    .endpoints()
    .sort()
    .map((e) => [e, w.read(e, ALL)]);
}

describe('SqliteSpanWindows', () => {
  it('close and reopen: identical reads, before and after compaction (nothing lost)', async () => {
    const path = join(dir, 'reopen.db');
    const opts = { path, now: () => T0, limit: 300, compactEveryMs: 0 };
    const mem = new MemorySpanWindows({ now: () => T0, limit: 300 });
    const a = new SqliteSpanWindows(opts);
    for (let b = 0; b < 6; b++) {
      const batch = workload(512, b);
      await a.append(batch);
      await mem.append(batch);
      if (b === 2) assert.equal(await a.compact(), 7);
    }
    const before = snapshot(a);
    assert.deepEqual(before, snapshot(mem), 'the same as the memory windows fed the same');
    await a.close();
    const b = new SqliteSpanWindows(opts);
    assert.deepEqual(snapshot(b), before, 'log replayed on top of the compacted windows');
    await b.compact();
    await b.close();
    const raw = new Database(path, { readonly: true });
    assert.deepEqual(
      raw.prepare('SELECT COUNT(*) AS n FROM log').get(),
      { n: 0 },
      'compaction emptied the log',
    );
    raw.close();
    const c = new SqliteSpanWindows(opts);
    assert.deepEqual(snapshot(c), before, 'from the compacted windows alone');
    assert.equal(await c.remove('ep3'), true);
    await c.close();
    const d = new SqliteSpanWindows(opts);
    assert.deepEqual(
      snapshot(d),
      before.filter(([e]) => e !== 'ep3'),
      'a removal is persisted',
    );
    await d.close();
  });

  it('a removal before compaction stays removed; the endpoint comes back afresh', async () => {
    const path = join(dir, 'remove-log.db');
    const opts = { path, now: () => T0, compactEveryMs: 0 };
    const a = new SqliteSpanWindows(opts);
    await a.append([entry('x', T0 - 3000, 1), entry('y', T0 - 3000, 2)]);
    assert.equal(await a.remove('x'), true);
    await a.append([entry('x', T0 - 1000, 3), entry('y', T0 - 1000, 4)]);
    await a.close();
    const b = new SqliteSpanWindows(opts);
    assert.deepEqual(b.read('x', ALL).durationsMs, [3]);
    assert.deepEqual(b.read('y', ALL).durationsMs, [2, 4]);
    await b.compact();
    await b.close();
    const c = new SqliteSpanWindows(opts);
    assert.deepEqual(snapshot(c), [
      ['x', { durationsMs: [3], timestampsMs: [T0 - 1000], failed: [false] }],
      ['y', { durationsMs: [2, 4], timestampsMs: [T0 - 3000, T0 - 1000], failed: [false, false] }],
    ]);
    await c.close();
  });

  it('appends during a compaction are neither lost nor replayed twice', async () => {
    const path = join(dir, 'during.db');
    const opts = { path, now: () => T0, compactEveryMs: 0 };
    const a = new SqliteSpanWindows(opts);
    // More endpoints than one compaction step, so that it yields between steps.
    const many = (base: number) =>
      Array.from({ length: 500 }, (_, i) => entry(`e${i}`, T0 - 100_000 + base, 1 + base));
    await a.append(many(0));
    const running = a.compact();
    await a.append(many(1)); // lands while the compaction yields
    await running;
    await a.append(many(2));
    const before = snapshot(a);
    assert.deepEqual((before[0]?.[1] as { durationsMs: number[] }).durationsMs, [1, 2, 3]);
    await a.close();
    const b = new SqliteSpanWindows(opts);
    assert.deepEqual(snapshot(b), before);
    await b.compact();
    await b.close();
    const c = new SqliteSpanWindows(opts);
    assert.deepEqual(snapshot(c), before);
    await c.close();
  });

  it('an append to a closed file rejects with StoreUnavailableError and changes nothing', async () => {
    const w = new SqliteSpanWindows({
      path: join(dir, 'closed.db'),
      now: () => T0,
      compactEveryMs: 0,
    });
    await w.append([entry('a', T0 - 2, 1)]);
    await w.close();
    await assert.rejects(w.append([entry('a', T0 - 1, 2)]), StoreUnavailableError);
    assert.deepEqual(w.read('a', ALL).durationsMs, [1]);
  });

  it('refuses a file another instance holds, with a clear error', async () => {
    const path = join(dir, 'locked.db');
    const a = new SqliteSpanWindows({ path, compactEveryMs: 0 });
    assert.throws(
      () => new SqliteSpanWindows({ path, compactEveryMs: 0 }),
      (err: unknown) =>
        err instanceof StoreUnavailableError && /locked by another process/.test(err.message),
    );
    await a.close();
    await new SqliteSpanWindows({ path, compactEveryMs: 0 }).close();
  });

  it('refuses a file from a newer schema version (typed error), changing nothing', () => {
    const path = join(dir, 'future.db');
    const raw = new Database(path);
    raw.exec(`CREATE TABLE windows (x BLOB)`);
    raw.pragma(`user_version = ${WINDOWS_MIGRATIONS.length + 1}`);
    raw.close();
    const bytes = readFileSync(path);
    assert.throws(
      () => new SqliteSpanWindows({ path, compactEveryMs: 0 }),
      (err: unknown) =>
        err instanceof StoreSchemaTooNewError &&
        err.code === 'STORE_SCHEMA_TOO_NEW' &&
        err.message.includes(`schema version ${WINDOWS_MIGRATIONS.length + 1}`),
    );
    assert.ok(readFileSync(path).equals(bytes));
    assert.equal(existsSync(`${path}-wal`), false);
  });

  it('a process killed without close: the WAL holds every acknowledged append', () => {
    const path = join(dir, 'crash.db');
    // A child appends, then dies by SIGKILL right after the last append resolved: no close, no
    // checkpoint, no exit handlers.
    const script = `
      import { SqliteSpanWindows } from ${JSON.stringify(new URL('./span-windows-sqlite.ts', import.meta.url).href)};
      const T0 = ${T0};
      const w = new SqliteSpanWindows({ path: ${JSON.stringify(path)}, now: () => T0, compactEveryMs: 0 });
      for (let b = 0; b < 20; b++) {
        const batch = [];
        for (let i = 0; i < 512; i++) batch.push({ endpoint: 'e' + (i % 5), startMs: T0 - 1_000_000 + b * 512 + i, durationMs: 1 + i, failed: i % 7 === 0 });
        await w.append(batch);
        if (b === 9) await w.compact();
      }
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    assert.ok(statSync(`${path}-wal`).size > 0, 'the commits are in the WAL, not yet checkpointed');
    const w = new SqliteSpanWindows({ path, now: () => T0, compactEveryMs: 0 });
    assert.deepEqual(w.endpoints().sort(), ['e0', 'e1', 'e2', 'e3', 'e4']);
    // The same batches through the memory windows: what every acknowledged append amounts to.
    const mem = new MemorySpanWindows({ now: () => T0 });
    for (let b = 0; b < 20; b++) {
      const batch: WindowEntry[] = [];
      for (let i = 0; i < 512; i++)
        batch.push(entry('e' + (i % 5), T0 - 1_000_000 + b * 512 + i, 1 + i, i % 7 === 0));
      void mem.append(batch);
    }
    assert.deepEqual(snapshot(w), snapshot(mem));
    assert.equal(w.read('e3', ALL).durationsMs.length, 20 * 102);
    void w.close();
  });
});
